/* What conv_winograd.c (forward, input gradient) and conv_winograd_dw.c
 * (weight gradient) share: the tile geometry and the input transform of a
 * block of tiles. Private to those two files. */
#ifndef IODINE_CONV_WINOGRAD_TILES_H
#define IODINE_CONV_WINOGRAD_TILES_H

#include "simd.h"
#include "winograd_transforms.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

/* Output tile of the forward pass and input gradient: F(4, k). F(4, 5)
 * rather than F(2, 5): 4 instead of 9 products per output, and its larger
 * transforms still cost less than the products they save. */
#define WINO_M 4
/* Largest transformed tile: 8 × 8 (F(4, 5) and F(5, 4)). */
#define WINO_MAX_A 8
/* Most threads (or parts) the work is split over; each has its own buffers. */
#define WINO_MAX_PARTS 4
/* Most channel vectors (VW floats) in a channel count the kernels take. */
#define WINO_MAX_NV 4

/* A stride-1 convolution from cin to cout channels the Winograd kernels
 * take: k 3 or 5, both channel counts multiples of VW up to VW·WINO_MAX_NV. */
static inline gboolean
wino_shape_ok (int cin, int cout, int k, int stride)
{
  return stride == 1 && (k == 3 || k == 5) && cin % VW == 0 && cin >= VW && cin <= VW * WINO_MAX_NV
         && cout % VW == 0 && cout >= VW && cout <= VW * WINO_MAX_NV;
}

/* TRUE if this copy of the kernels runs (conv_simd_level) and
 * IODINE_CONV_WINOGRAD is not 0. */
static inline gboolean
wino_enabled_here (void)
{
  const char *e = g_getenv ("IODINE_CONV_WINOGRAD");
  return (e == NULL || e[0] != '0') && simd_this_level_active ();
}

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
static inline void
wino_pad_image (float *xp, const float *x, int h, int w, int c, const WinoGrid *g)
{
  const int off = g->k / 2;
  for (int y = 0; y < h; y++)
    memcpy (xp + ((size_t) (y + off) * g->wp + off) * c, x + (size_t) y * w * c,
            sizeof (float) * w * c);
}

#if IODINE_X86

/* The transforms of a tile: B^T of F(4, 5), F(4, 3) for the forward pass
 * and the input gradient, of F(5, 4), F(3, 4) for the weight gradient
 * (inputs); G of F(5, 4), F(3, 4) (the weight gradient's 4 × 4 output
 * gradients). */
typedef enum { WINO_F4_5, WINO_F4_3, WINO_F5_4, WINO_F3_4, WINO_G5_4, WINO_G3_4 } WinoKind;

static SIMD_INLINE void
wino_transform (const vf *in, vf *out, const WinoKind kind)
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
    case WINO_F3_4:
      wino_in_3_4 (in, out);
      break;
    case WINO_G5_4:
      wino_filter_5_4 (in, out);
      break;
    default:
      wino_filter_3_4 (in, out);
    }
}

/* T[ξ][ν][j][c] = (X d_j X^T)[ξ][ν], X the transform of kind (A × IN), for
 * n tiles j of one tile row: tile j is the IN × IN pixels at src + j·WINO_M
 * pixels (rows w pixels of c channels), done VW channels at a time, columns
 * first, then rows. The transformed positions (ξ, ν) are stride tiles apart
 * in T. */
static SIMD_INLINE void
wino_tiles (float *restrict T, const float *restrict src, int w, int c, int n, int stride,
            const int IN, const int A, const WinoKind kind)
{
  for (int j = 0; j < n; j++)
    for (int cv = 0; cv < c; cv += VW)
      {
        const float *d = src + (size_t) j * WINO_M * c + cv;
        vf t[WINO_MAX_A][WINO_MAX_A];
#pragma GCC unroll 8
        for (int col = 0; col < IN; col++)
          {
            vf in[WINO_MAX_A], o[WINO_MAX_A];
#pragma GCC unroll 8
            for (int r = 0; r < IN; r++)
              in[r] = vf_load (d + ((size_t) r * w + col) * c);
            wino_transform (in, o, kind);
#pragma GCC unroll 8
            for (int i = 0; i < A; i++)
              t[i][col] = o[i];
          }
#pragma GCC unroll 8
        for (int i = 0; i < A; i++)
          {
            vf o[WINO_MAX_A];
            wino_transform (t[i], o, kind);
#pragma GCC unroll 8
            for (int col = 0; col < A; col++)
              vf_store (T + ((size_t) (i * A + col) * stride + j) * c + cv, o[col]);
          }
      }
}

#endif /* IODINE_X86 */

#endif
