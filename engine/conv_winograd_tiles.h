/* What conv_winograd.c (forward, input gradient) and conv_winograd_dw.c
 * (weight gradient) share: the tile geometry and the input transform of a
 * block of tiles. Private to those two files. */
#ifndef IODINE_CONV_WINOGRAD_TILES_H
#define IODINE_CONV_WINOGRAD_TILES_H

#include "avx512.h"
#include "winograd_transforms.h"

#include <glib.h>
#include <stddef.h>

/* Output tile of the forward pass and input gradient: F(4, k). F(4, 5)
 * rather than F(2, 5): 4 instead of 9 products per output, and its larger
 * transforms still cost less than the products they save. */
#define WINO_M 4
/* Largest transformed tile: 8 × 8 (F(4, 5) and F(5, 4)). */
#define WINO_MAX_A 8
/* Most threads (or parts) the work is split over; each has its own buffers. */
#define WINO_MAX_PARTS 4

/* TRUE unless IODINE_CONV_WINOGRAD=0 or the direct kernels are off (no
 * AVX-512, IODINE_CONV_GEMM). */
gboolean conv_winograd_enabled (void);

/* The tile grid of h × w images for a k × k kernel: tiles of WINO_M × WINO_M
 * outputs (forward) or output gradients (weight gradient), read from a
 * zero-padded copy of the image, pad k/2 at the top and left. */
typedef struct
{
  int k, a;              /* a = WINO_M + k − 1: the transformed tile */
  int tiles_y, tiles_x;
  int hp, wp;            /* the padded image */
} WinoGrid;

static inline WinoGrid
wino_grid (int h, int w, int k)
{
  WinoGrid g;
  g.k = k;
  g.a = WINO_M + k - 1;
  g.tiles_y = (h + WINO_M - 1) / WINO_M;
  g.tiles_x = (w + WINO_M - 1) / WINO_M;
  g.hp = g.tiles_y * WINO_M + k - 1;
  g.wp = g.tiles_x * WINO_M + k - 1;
  return g;
}

/* Copies image x (h × w × c) into the interior of the padded buffer xp,
 * whose border stays as it is (zero). */
void wino_pad_image (float *xp, const float *x, int h, int w, int c, const WinoGrid *g);

#if IODINE_X86

/* The B^T of each transform: F(4, 5), F(4, 3) for the forward pass and the
 * input gradient; F(5, 4), F(3, 4) for the weight gradient. */
typedef enum { WINO_F4_5, WINO_F4_3, WINO_F5_4, WINO_F3_4 } WinoKind;

static AVX512_INLINE void
wino_transform_in (const __m512 *in, __m512 *out, const WinoKind kind)
{
  switch (kind)
    {
    case WINO_F4_5:
      wino_in_4_5 (in, out);
      break;
    case WINO_F4_3:
      wino_in_4_3 (in, out);
      break;
    case WINO_F5_4:
      wino_in_5_4 (in, out);
      break;
    default:
      wino_in_3_4 (in, out);
    }
}

/* V[ξ][ν][j][c] = (B^T d_j B)[ξ][ν] for n tiles j of one tile row, tile j
 * reading the A × A pixels at xp + j·WINO_M pixels (rows wp pixels of cin
 * channels), 16 channels at a time: columns first, then rows. The
 * transformed positions (ξ, ν) are stride tiles apart in V. */
static AVX512_INLINE void
wino_input_tiles (float *restrict V, const float *restrict xp, int wp, int cin, int n, int stride,
                  const int A, const WinoKind kind)
{
  for (int j = 0; j < n; j++)
    for (int cv = 0; cv < cin; cv += 16)
      {
        const float *d = xp + (size_t) j * WINO_M * cin + cv;
        __m512 t[WINO_MAX_A][WINO_MAX_A];
#pragma GCC unroll 8
        for (int c = 0; c < A; c++)
          {
            __m512 in[WINO_MAX_A], o[WINO_MAX_A];
#pragma GCC unroll 8
            for (int r = 0; r < A; r++)
              in[r] = _mm512_loadu_ps (d + ((size_t) r * wp + c) * cin);
            wino_transform_in (in, o, kind);
#pragma GCC unroll 8
            for (int i = 0; i < A; i++)
              t[i][c] = o[i];
          }
#pragma GCC unroll 8
        for (int i = 0; i < A; i++)
          {
            __m512 o[WINO_MAX_A];
            wino_transform_in (t[i], o, kind);
#pragma GCC unroll 8
            for (int c = 0; c < A; c++)
              _mm512_storeu_ps (V + ((size_t) (i * A + c) * stride + j) * cin + cv, o[c]);
          }
      }
}

#endif /* IODINE_X86 */

#endif
