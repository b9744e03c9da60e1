/* Winograd convolution (Lavin & Gray 2016) for the stride-1 5×5 and 3×3
 * layers of the decoder, on AVX-512 and AVX2: each tile of m×m outputs is computed
 * from an a×a input tile (a = m + k − 1) as A^T [(G w G^T) ⊙ (B^T d B)] A,
 * which turns the 25 (k 5) multiply-adds per output, input channel and
 * output channel of the direct kernel into a²/m² (F(4, 5): 4; F(4, 3):
 * 2.25). The element-wise products over channels are a²
 * small matrix products per block of tiles, run by a register-blocked
 * kernel; the input and output transforms are straight-line code generated
 * with only their non-zero terms (scripts/gen-winograd.py). The transformed
 * weights are computed per call in double precision.
 *
 * The same results as the direct kernel within float rounding (the
 * transforms add a few ulps of their own: see test-conv-winograd); results
 * depend on the shape only, never on the number of threads.
 *
 * IODINE_CONV_WINOGRAD=0 turns it off (comparisons), as IODINE_CONV_GEMM
 * turns off both this and the direct kernels. */
#ifndef IODINE_CONV_WINOGRAD_H
#define IODINE_CONV_WINOGRAD_H

#include "conv.h"
#include "conv_direct.h"

#include <glib.h>
#include <stddef.h>

/* TRUE if conv_winograd_forward runs s here: the vector kernels run
 * (conv_direct_enabled), stride 1, k 3 or 5, cin and cout multiples of the
 * vector width up to four vectors (64 on AVX-512, 32 on AVX2). */
gboolean conv_winograd_available (const ConvShape *s);
/* The same for the input gradient of s (a convolution from cout to cin). */
gboolean conv_winograd_backward_input_available (const ConvShape *s);
/* The same for the weight gradient of s (conv_winograd_dw.c). */
gboolean conv_winograd_backward_weights_available (const ConvShape *s);
/* Floats of scratch that any of the functions below needs for s (0 if none
 * runs it). */
size_t conv_winograd_workspace_floats (const ConvShape *s);

/* y = conv (x, w) combined with y and b as epi says (not CONV_EPI_ELU_GRAD);
 * w in the engine's layout [cout][k][k][cin]. */
void conv_winograd_forward (float *y, const float *x, const float *w, const float *b,
                            const ConvShape *s, float *work, ConvEpilogue epi);
/* dx += the input gradient of dy; or, when elu_out is not NULL, dx = that
 * gradient · ELU'(·), elu_out being the ELU output laid out as dx. */
void conv_winograd_backward_input (float *dx, const float *dy, const float *w,
                                   const ConvShape *s, float *work, const float *elu_out);

/* dw += the weight gradient, dw[co][ky][kx][ci] += Σ dy[p][co] · x[p + tap][ci]. */
void conv_winograd_backward_weights (float *dw, const float *dy, const float *x,
                                     const ConvShape *s, float *work);
/* Floats of scratch conv_winograd_backward_weights needs (within
 * conv_winograd_workspace_floats). */
size_t conv_winograd_backward_weights_floats (const ConvShape *s);

/* Each instruction set's copy of the functions above (SIMD_NAME in simd.h);
 * the plain names (conv_simd.c) call the copy in use. */
#define CONV_WINOGRAD_DECLARE(isa)                                                              \
  gboolean conv_winograd_available_##isa (const ConvShape *s);                                  \
  gboolean conv_winograd_backward_input_available_##isa (const ConvShape *s);                   \
  gboolean conv_winograd_backward_weights_available_##isa (const ConvShape *s);                 \
  size_t conv_winograd_workspace_floats_##isa (const ConvShape *s);                             \
  size_t conv_winograd_backward_weights_floats_##isa (const ConvShape *s);                      \
  void conv_winograd_forward_##isa (float *y, const float *x, const float *w, const float *b,   \
                                    const ConvShape *s, float *work, ConvEpilogue epi);         \
  void conv_winograd_backward_input_##isa (float *dx, const float *dy, const float *w,         \
                                           const ConvShape *s, float *work,                     \
                                           const float *elu_out);                               \
  void conv_winograd_backward_weights_##isa (float *dw, const float *dy, const float *x,       \
                                             const ConvShape *s, float *work);
CONV_WINOGRAD_DECLARE (avx512)
CONV_WINOGRAD_DECLARE (avx2)

#endif
