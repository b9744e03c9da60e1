/* The inside of an IodineModel, for the engine's own files. */
#ifndef IODINE_MODEL_PRIVATE_H
#define IODINE_MODEL_PRIVATE_H

#include "iodine.h"
#include "params.h"
#include "tensorfile.h"

struct IodineModel {
  IodineConfig cfg;
  ParamLayout layout;
  float *params;              /* layout.total floats, engine layout */
  GHashTable *metadata;       /* string → string */
};

/* One tensor between the file's (PyTorch) layout and the engine's. */
void model_param_to_file (const ParamInfo *p, float *dst, const float *src);
void model_param_from_file (const ParamInfo *p, float *dst, const float *src);
/* The metadata to write: the model's own, extra, and the configuration. */
GHashTable *model_file_metadata (const IodineModel *m, GHashTable *extra);
/* Reads every parameter named prefix + name, checking shape and finiteness. */
gboolean model_load_params (const IodineTensorFile *f, const ParamLayout *layout, float *params,
                            const char *prefix, GError **error);
/* allow_extra: ignore tensors that are not parameters (golden files). */
IodineModel *model_from_tensor_file (const IodineTensorFile *f, gboolean allow_extra,
                                     GError **error);

#endif
