/* 2-D convolution over NHWC activations, stride 1 or 2, symmetric zero
 * padding k/2 (spec §2), as im2col tiles multiplied with cblas_sgemm: all
 * images (every slot of every batch image) stack as GEMM rows, and the
 * column block of one tile stays in cache.
 *
 * Weights are kept in the engine's layout [C_out, k, k, C_in] (one GEMM row
 * per output channel over contiguous input channels); files use PyTorch's
 * [C_out, C_in, k, k] and are converted on load and save (params.c). */
#ifndef IODINE_CONV_H
#define IODINE_CONV_H

#include <stddef.h>

typedef struct {
  int n, h, w, cin;           /* input [n, h, w, cin] */
  int cout, k, stride, pad;
  int ho, wo;                 /* output [n, ho, wo, cout] */
} ConvShape;

void conv_shape_init (ConvShape *s, int n, int h, int w, int cin, int cout, int k, int stride);
/* Output rows (positions) per im2col tile. */
#define CONV_TILE_ROWS 256
/* Floats of scratch that conv_forward / conv_backward need. */
size_t conv_workspace_floats (const ConvShape *s);

void conv_forward (float *y, const float *x, const float *w, const float *b,
                   const ConvShape *s, float *work);
/* dx (may be NULL), dw, db accumulate. */
void conv_backward (float *dx, float *dw, float *db, const float *dy, const float *x,
                    const float *w, const ConvShape *s, float *work);
/* y = ELU (conv (x, w) + b), fused where the direct kernels run. */
void conv_forward_elu (float *y, const float *x, const float *w, const float *b,
                       const ConvShape *s, float *work);
/* For a convolution whose input x is the output of an ELU: dx (not NULL) is
 * OVERWRITTEN with the gradient at the ELU's input, (input gradient of dy) ·
 * ELU'; dw, db (may be NULL) accumulate as in conv_backward. */
void conv_backward_elu (float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, const ConvShape *s, float *work);

/* Converts weights between PyTorch [cout, cin, k, k] and engine [cout, k, k, cin]. */
void conv_weight_from_torch (float *dst, const float *src, int cout, int cin, int k);
void conv_weight_to_torch (float *dst, const float *src, int cout, int cin, int k);

#endif
