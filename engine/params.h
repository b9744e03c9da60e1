/* The model's parameters as one flat block, split by a table of names,
 * shapes and offsets (llm.c style): Adam, clipping, save and load are single
 * loops over the block, and gradients use the same table. */
#ifndef IODINE_PARAMS_H
#define IODINE_PARAMS_H

#include "iodine.h"

#include <stddef.h>
#include <stdint.h>

#define IODINE_MAX_CONVS 16

typedef struct {
  char name[64];
  int ndim;
  int64_t shape[4];           /* as in the file (PyTorch conventions) */
  size_t offset, numel;
  gboolean is_conv;           /* stored as [cout, k, k, cin] in memory */
} ParamInfo;

/* Indices of the spatial layer-norm groups and of grad_lambda. */
enum { NORM_GRAD_MEANS, NORM_GRAD_LOGITS, NORM_LOGP, NORM_LOO, NORM_GRAD_LAMBDA, NORM_COUNT };

typedef struct {
  int n;
  ParamInfo info[80];
  size_t total;
  /* indices into info[] */
  int init_lambda;
  int dec_w[IODINE_MAX_CONVS + 1], dec_b[IODINE_MAX_CONVS + 1];
  int ref_w[IODINE_MAX_CONVS], ref_b[IODINE_MAX_CONVS];
  int mlp_w[IODINE_MAX_MLP], mlp_b[IODINE_MAX_MLP];
  int lstm_ih, lstm_hh, lstm_b;  /* -1 without LSTM */
  int upd_w, upd_b;
  int norm_w[NORM_COUNT], norm_b[NORM_COUNT];
  /* derived sizes */
  int flat;                   /* MLP output + 4M */
  int upd_in;                 /* LSTM hidden or flat */
} ParamLayout;

void param_layout_init (ParamLayout *l, const IodineConfig *cfg);
int param_layout_find (const ParamLayout *l, const char *name);

/* The reference initialisation (spec §1). */
void params_init_reference (const ParamLayout *l, const IodineConfig *cfg, float *params,
                            uint64_t seed);

#define PARAM(layout, block, idx) ((block) + (layout)->info[(idx)].offset)

#endif
