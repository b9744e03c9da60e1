/* The decoder's first convolution, whose input is a latent vector z tiled
 * over the image plus two coordinate channels (spatial broadcast, spec §2).
 * Since z is the same at every position, the product W·z is computed once
 * per slot and tap; only the sum over the taps that fall inside the image
 * (zero padding) varies with the position. This replaces an im2col GEMM of
 * (M + 2)·k² columns per pixel by k² vector adds per pixel, and likewise in
 * backward, where only ∂/∂z (not ∂/∂input per pixel) is needed. */
#ifndef IODINE_CONV_BROADCAST_H
#define IODINE_CONV_BROADCAST_H

#include "conv.h"

/* s: the conv's shape (cin = M + 2, stride 1). z [n, M], coords [h·w, 2]. */
size_t conv_broadcast_workspace_floats (const ConvShape *s);
void conv_broadcast_forward (float *y, const float *z, const float *coords, const float *w,
                             const float *b, const ConvShape *s, float *work);
/* dz [n, M] is overwritten (may be NULL); dw, db accumulate (may be NULL). */
void conv_broadcast_backward (float *dz, float *dw, float *db, const float *dy, const float *z,
                              const float *coords, const float *w, const ConvShape *s,
                              float *work);

#endif
