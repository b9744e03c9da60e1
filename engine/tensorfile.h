/* safetensors files (spec §5): read with full validation, write atomically.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [a, b]}, ...,
 *  "__metadata__": {"key": "string", ...}}, then the data area. Only F32 is
 * accepted. The writer pads the header with spaces so that the data area is
 * 8-byte aligned and stores tensors in the order given.
 */
#ifndef IODINE_TENSORFILE_H
#define IODINE_TENSORFILE_H

#include <glib.h>
#include <stdint.h>

#define IODINE_TENSOR_MAX_DIMS 8

typedef struct {
  char *name;
  int ndim;
  int64_t shape[IODINE_TENSOR_MAX_DIMS];
  size_t numel;
  float *data;               /* owned by the IodineTensorFile, 4-byte aligned */
} IodineTensor;

typedef struct {
  char *path;
  GPtrArray *tensors;        /* IodineTensor*, in file order */
  GHashTable *index;         /* name → IodineTensor* */
  GHashTable *metadata;      /* string → string (empty if none) */
} IodineTensorFile;

/* Reads and validates: file size ≥ 8, header length inside the file and
 * below 100 MB, UTF-8 JSON object, every entry an object with dtype "F32",
 * a shape of non-negative integers, data_offsets [a, b] with b − a = 4 ×
 * numel, ranges inside the data area, no two overlapping, no gap left
 * uncovered, no duplicate names; __metadata__ an object of strings.
 * Errors (IODINE_ERROR_IO / _FORMAT) name the file and the tensor. */
IodineTensorFile *iodine_tensor_file_read (const char *path, GError **error);
/* The same from bytes in memory; `label` stands for the file name in errors. */
IodineTensorFile *iodine_tensor_file_parse (const guint8 *bytes, size_t size,
                                            const char *label, GError **error);
void iodine_tensor_file_free (IodineTensorFile *file);
/* NULL if absent. */
const IodineTensor *iodine_tensor_file_get (const IodineTensorFile *file, const char *name);
/* Looks a tensor up and checks its shape (ndim values); error names both shapes. */
const IodineTensor *iodine_tensor_file_expect (const IodineTensorFile *file, const char *name,
                                               int ndim, const int64_t *shape, GError **error);

/* One tensor to write: data is borrowed. */
typedef struct {
  const char *name;
  int ndim;
  int64_t shape[IODINE_TENSOR_MAX_DIMS];
  const float *data;
} IodineTensorView;

/* Writes atomically: PATH.tmp-XXXXXX in the same directory, fsync, rename,
 * fsync of the directory. On any failure the previous file at path is kept
 * and the temporary removed. metadata may be NULL. */
gboolean iodine_tensor_file_write (const char *path, const IodineTensorView *tensors,
                                   size_t n_tensors, GHashTable *metadata, GError **error);

#endif
