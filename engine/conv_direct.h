/* Direct stride-1 convolution for AVX-512 and AVX2 CPUs (conv_direct.c): the same
 * results as the im2col + sgemm path of conv.c within float rounding, without
 * the im2col copy. Each image is copied once into a zero-padded buffer (no
 * border branches); the weights are repacked as [tap][cin][cout]; a block of
 * R consecutive output pixels keeps R × cout/16 accumulators in registers and
 * broadcasts one input value per (pixel, tap, input channel).
 *
 * Results depend on the shape only, never on the number of threads: every
 * output is summed in the same order (taps, then input channels), and the
 * weight gradient is split between threads by tap, not by image.
 *
 * Setting the environment variable IODINE_CONV_GEMM forces the GEMM path
 * (tests and comparisons); IODINE_SIMD=avx2 runs the AVX2 copy of the kernels
 * on an AVX-512 CPU, IODINE_SIMD=none the GEMM path (conv_simd.c). */
#ifndef IODINE_CONV_DIRECT_H
#define IODINE_CONV_DIRECT_H

#include "conv.h"

#include <glib.h>
#include <stddef.h>

/* TRUE if the vector kernels run here (conv_simd_level: AVX-512 or AVX2 + FMA,
 * IODINE_CONV_GEMM unset) and s is a stride-1 convolution with an odd
 * kernel whose channels they handle (multiples of the vector width, up to
 * four vectors: 64 on AVX-512, 32 on AVX2). */
gboolean conv_direct_available (const ConvShape *s);
/* Same for the input gradient of s (a stride-1 convolution of dy with the
 * flipped weights, cout → cin channels). */
gboolean conv_direct_backward_input_available (const ConvShape *s);
/* Same for the weight gradient of s. */
gboolean conv_direct_backward_weights_available (const ConvShape *s);

/* Floats of scratch any of the functions below needs for s (0 when none of
 * them handles s). */
size_t conv_direct_workspace_floats (const ConvShape *s);

/* TRUE if the vector kernels run here (AVX-512 or AVX2 + FMA, IODINE_CONV_GEMM
 * unset, IODINE_SIMD not "none": conv_simd.c). */
gboolean conv_direct_enabled (void);
/* The kernels split their work over the engine's threads (parallel.h). */

/* What the kernels do with each output sum: the element-wise work of the
 * layer after a convolution is done while the sums are still in registers,
 * instead of in another pass over memory. */
typedef enum {
  CONV_EPI_BIAS,       /* y = sum + b */
  CONV_EPI_ACCUMULATE, /* y += sum */
  CONV_EPI_BIAS_ELU,   /* y = ELU (sum + b) (conv_direct_forward_elu_available shapes) */
  CONV_EPI_ELU_GRAD,   /* y = sum · ELU'(·), from the ELU's output at y's position */
} ConvEpilogue;

/* TRUE if conv_direct_forward takes CONV_EPI_BIAS_ELU for s. */
gboolean conv_direct_forward_elu_available (const ConvShape *s);

/* y = conv (x, w) combined with y and b as epi says (not CONV_EPI_ELU_GRAD). */
void conv_direct_forward (float *y, const float *x, const float *w, const float *b,
                          const ConvShape *s, float *work, ConvEpilogue epi);
/* dx += the input gradient of dy (the transposed convolution); or, when
 * elu_out is not NULL, dx = that gradient · ELU'(·), where elu_out (laid out
 * as dx: this convolution's input) is the output of the ELU before it. */
void conv_direct_backward_input (float *dx, const float *dy, const float *w, const ConvShape *s,
                                 float *work, const float *elu_out);
/* dw += the weight gradient: dw[co][ky][kx][ci] += Σ dy[p][co] · x[p + tap][ci]. */
void conv_direct_backward_weights (float *dw, const float *dy, const float *x, const ConvShape *s,
                                   float *work);

/* Each instruction set's copy of the functions above (SIMD_NAME in simd.h);
 * the plain names (conv_simd.c) call the copy in use. */
#define CONV_DIRECT_DECLARE(isa)                                                                \
  gboolean conv_direct_available_##isa (const ConvShape *s);                                    \
  gboolean conv_direct_backward_input_available_##isa (const ConvShape *s);                     \
  gboolean conv_direct_backward_weights_available_##isa (const ConvShape *s);                   \
  gboolean conv_direct_forward_elu_available_##isa (const ConvShape *s);                        \
  size_t conv_direct_workspace_floats_##isa (const ConvShape *s);                               \
  void conv_direct_forward_##isa (float *y, const float *x, const float *w, const float *b,     \
                                  const ConvShape *s, float *work, ConvEpilogue epi);           \
  void conv_direct_backward_input_##isa (float *dx, const float *dy, const float *w,           \
                                         const ConvShape *s, float *work,                       \
                                         const float *elu_out);                                 \
  void conv_direct_backward_weights_##isa (float *dw, const float *dy, const float *x,         \
                                           const ConvShape *s, float *work);
CONV_DIRECT_DECLARE (avx512)
CONV_DIRECT_DECLARE (avx2)

#endif
