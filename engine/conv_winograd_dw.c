/* The weight gradient of a stride-1 convolution by Winograd's method, for
 * AVX-512 and AVX2 (simd.h; see conv_winograd.h).
 *
 * dw[co][ky][kx][ci] = Σ_p dy[p][co] · x_pad[p + (ky, kx)][ci] is, per tile of
 * 4 × 4 output gradients, a correlation of the tile's a × a input pixels with
 * the 4 × 4 gradient as the filter: F(k, 4) (a = k + 3). Its products are
 * summed over all tiles in the transformed domain,
 *     S[ξ][ν][co][ci] = Σ_tiles (G dy G^T)[ξ][ν][co] · (B^T d B)[ξ][ν][ci],
 * which is a² matrix products of (cout × tiles) by (tiles × cin), and A^T S A
 * is applied once, in double, at the end: a²/16 products per output
 * gradient, input channel and output channel (F(5, 4): 4, against the direct
 * kernel's 25).
 *
 * The images are split into a number of parts that depends on the shape
 * only; each part sums its own S, and the parts are added in order, so the
 * result does not depend on the number of threads. */
#include "conv_winograd.h"

#include "conv_winograd_tiles.h"
#include "parallel.h"

#include <string.h>

/* Input-channel vectors the accumulating kernel handles (cin = VW·NV). */
#define MAX_NV WINO_MAX_NV
/* Most output channels per register block. */
#define MAX_CB 12
/* Tiles whose transforms are made before they are summed into S: enough
 * to amortise loading and storing S's register blocks. */
#define CHUNK_TILES 48

gboolean
SIMD_NAME (conv_winograd_backward_weights_available) (const ConvShape *s)
{
  return wino_shape_ok (s->cin, s->cout, s->k, s->stride) && wino_enabled_here ();
}

/* The geometry of one call: tiles, and how many tile rows a chunk takes. */
typedef struct
{
  WinoGrid g;
  int chunk_rows, chunk_tiles;
  int parts; /* from the shape only */
} DwPlan;

static DwPlan
dw_plan (const ConvShape *s)
{
  DwPlan p;
  p.g = wino_grid (s->h, s->w, s->k);
  p.chunk_rows = MAX (1, MIN (p.g.tiles_y, CHUNK_TILES / p.g.tiles_x));
  p.chunk_tiles = p.chunk_rows * p.g.tiles_x;
  p.parts = MIN (s->n, WINO_MAX_PARTS);
  return p;
}

/* Per part: its sums S[a²][cout][cin], the padded image, the output
 * gradient padded to whole tiles, and one chunk's transforms
 * V[a²][chunk][cin] and D[a²][chunk][cout]. */
static size_t
part_floats (const DwPlan *p, const ConvShape *s)
{
  const size_t aa = (size_t) p->g.a * p->g.a;
  return aa * s->cout * s->cin + (size_t) p->g.hp * p->g.wp * s->cin
         + (size_t) p->g.tiles_y * WINO_M * p->g.tiles_x * WINO_M * s->cout
         + aa * p->chunk_tiles * (s->cin + s->cout);
}

size_t
SIMD_NAME (conv_winograd_backward_weights_floats) (const ConvShape *s)
{
  if (!wino_shape_ok (s->cin, s->cout, s->k, s->stride))
    return 0;
  DwPlan p = dw_plan (s);
  return WINO_MAX_PARTS * part_floats (&p, s);
}

#if IODINE_X86

/* One tile row's transforms: the inputs (B^T d B, A × A tiles) and the
 * output gradients (G dy G^T, 4 × 4 tiles), n tiles stride apart in T. */
#define ROW_FNS(K, A)                                                                           \
  static SIMD void input_row_##K (float *T, const float *xp, int wp, int cin, int n,         \
                                    int stride)                                                 \
  {                                                                                             \
    wino_tiles (T, xp, wp, cin, n, stride, A, A, K == 5 ? WINO_F5_4 : WINO_F3_4);               \
  }                                                                                             \
  static SIMD void gradient_row_##K (float *T, const float *dyp, int wq, int cout, int n,    \
                                       int stride)                                              \
  {                                                                                             \
    wino_tiles (T, dyp, wq, cout, n, stride, WINO_M, A, K == 5 ? WINO_G5_4 : WINO_G3_4);        \
  }
ROW_FNS (5, 8)
ROW_FNS (3, 6)

typedef void (*RowFn) (float *T, const float *src, int w, int c, int n, int stride);

/* S[co0 … co0+CB−1][0 … VW·NV) += Σ_j D[j][co] · V[j][ci] over n tiles, for
 * one transformed position and one group of VW·NV input channels (S and V
 * point at its first channel; their rows are cin floats): CB·NV
 * accumulators, loaded and stored once. */
static SIMD_INLINE void
accumulate_kernel (float *restrict S, const float *restrict D, const float *restrict V, int n,
                   int cin, int cout, const int NV, const int CB)
{
  vf acc[MAX_CB][MAX_NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; c++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      acc[c][v] = vf_load (S + (size_t) c * cin + VW * v);
  for (int j = 0; j < n; j++)
    {
      vf xv[MAX_NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++)
        xv[v] = vf_load (V + (size_t) j * cin + VW * v);
#pragma GCC unroll 16
      for (int c = 0; c < CB; c++)
        {
          const vf db = vf_set1 (D[(size_t) j * cout + c]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            acc[c][v] = vf_fmadd (db, xv[v], acc[c][v]);
        }
    }
#pragma GCC unroll 16
  for (int c = 0; c < CB; c++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      vf_store (S + (size_t) c * cin + VW * v, acc[c][v]);
}

typedef void (*AccFn) (float *S, const float *D, const float *V, int n, int cin, int cout);

#define ACC_FN(NV, CB)                                                                          \
  static SIMD void acc_##NV##_##CB (float *S, const float *D, const float *V, int n, int cin, \
                                      int cout)                                                 \
  {                                                                                             \
    accumulate_kernel (S, D, V, n, cin, cout, NV, CB);                                          \
  }
#define ACC_FNS(NV)                                                                             \
  ACC_FN (NV, 1)                                                                                \
  ACC_FN (NV, 2)                                                                                \
  ACC_FN (NV, 3)                                                                                \
  ACC_FN (NV, 4)                                                                                \
  ACC_FN (NV, 5)                                                                                \
  ACC_FN (NV, 6)                                                                                \
  ACC_FN (NV, 7)                                                                                \
  ACC_FN (NV, 8)                                                                                \
  ACC_FN (NV, 9)                                                                                \
  ACC_FN (NV, 10)                                                                               \
  ACC_FN (NV, 11)                                                                               \
  ACC_FN (NV, 12)
ACC_FNS (1)
ACC_FNS (2)
#if SIMD_MAX_GROUP > 2
ACC_FNS (3)
ACC_FNS (4)
#endif
#define ACC_ROW(NV)                                                                             \
  {                                                                                             \
    NULL, acc_##NV##_1, acc_##NV##_2, acc_##NV##_3, acc_##NV##_4, acc_##NV##_5, acc_##NV##_6,   \
        acc_##NV##_7, acc_##NV##_8, acc_##NV##_9, acc_##NV##_10, acc_##NV##_11, acc_##NV##_12   \
  }
static const AccFn acc_fns[MAX_NV + 1][MAX_CB + 1] = {
  { NULL }, ACC_ROW (1), ACC_ROW (2),
#if SIMD_MAX_GROUP > 2
  ACC_ROW (3), ACC_ROW (4),
#endif
};

typedef struct
{
  const ConvShape *s;
  DwPlan plan;
  const float *dy, *x;
  float *work;
  float *dw;
} DwJob;

static void
dw_part (const DwJob *jb, int part)
{
  const ConvShape *s = jb->s;
  const DwPlan *p = &jb->plan;
  const WinoGrid *g = &p->g;
  const int cin = s->cin, cout = s->cout, h = s->h, w = s->w, a = g->a, aa = a * a;
  const int wq = g->tiles_x * WINO_M, hq = g->tiles_y * WINO_M, nv = cin / VW;
  float *S = jb->work + (size_t) part * part_floats (p, s);
  float *xp = S + (size_t) aa * cout * cin;
  float *dyp = xp + (size_t) g->hp * g->wp * cin;
  float *V = dyp + (size_t) hq * wq * cout, *D = V + (size_t) aa * p->chunk_tiles * cin;
  const RowFn input_row = s->k == 5 ? input_row_5 : input_row_3;
  const RowFn gradient_row = s->k == 5 ? gradient_row_5 : gradient_row_3;
  /* input channels in groups of gv vectors, output channels in nearly
   * equal blocks of at most simd_max_block (gv) */
  const int gv = simd_channel_group (nv);
  const int nblocks = (cout + simd_max_block (gv) - 1) / simd_max_block (gv);
  memset (S, 0, sizeof (float) * aa * cout * cin);
  /* borders stay zero: every image writes the same interior */
  memset (xp, 0, sizeof (float) * g->hp * g->wp * cin);
  memset (dyp, 0, sizeof (float) * hq * wq * cout);
  const int i0 = (int) ((long) s->n * part / p->parts);
  const int i1 = (int) ((long) s->n * (part + 1) / p->parts);
  for (int i = i0; i < i1; i++)
    {
      wino_pad_image (xp, jb->x + (size_t) i * h * w * cin, h, w, cin, g);
      const float *dyi = jb->dy + (size_t) i * h * w * cout;
      for (int y = 0; y < h; y++)
        memcpy (dyp + (size_t) y * wq * cout, dyi + (size_t) y * w * cout,
                sizeof (float) * w * cout);
      for (int ty0 = 0; ty0 < g->tiles_y; ty0 += p->chunk_rows)
        {
          const int rows = MIN (p->chunk_rows, g->tiles_y - ty0), n = rows * g->tiles_x;
          /* the chunk's tiles: V[e][t][ci], D[e][t][co], t = row · tiles_x + column */
          for (int r = 0; r < rows; r++)
            {
              const int ty = ty0 + r, t0 = r * g->tiles_x;
              input_row (V + (size_t) t0 * cin, xp + (size_t) ty * WINO_M * g->wp * cin, g->wp,
                         cin, g->tiles_x, p->chunk_tiles);
              gradient_row (D + (size_t) t0 * cout, dyp + (size_t) ty * WINO_M * wq * cout, wq,
                            cout, g->tiles_x, p->chunk_tiles);
            }
          for (int e = 0; e < aa; e++)
            for (int bi = 0; bi < nblocks; bi++)
              for (int ci0 = 0; ci0 < cin; ci0 += VW * gv)
                {
                  const int c0 = (int) ((long) cout * bi / nblocks);
                  const int c1 = (int) ((long) cout * (bi + 1) / nblocks);
                  acc_fns[gv][c1 - c0](S + ((size_t) e * cout + c0) * cin + ci0,
                                       D + (size_t) e * p->chunk_tiles * cout + c0,
                                       V + (size_t) e * p->chunk_tiles * cin + ci0, n, cin, cout);
                }
        }
    }
}

static void
run_parts (int begin, int end, void *ctx)
{
  for (int part = begin; part < end; part++)
    dw_part (ctx, part);
}

/* Output channels [begin, end) of dw += A^T (Σ_parts S) A, in double, the
 * parts in order (a parallel-for range). */
static void
finish_range (int begin, int end, void *ctx)
{
  const DwJob *jb = ctx;
  const ConvShape *s = jb->s;
  const DwPlan *p = &jb->plan;
  const int a = p->g.a, aa = a * a, k = s->k, cin = s->cin, cout = s->cout;
  const double *At = k == 5 ? &wino_at_scaled_5_4[0][0] : &wino_at_scaled_3_4[0][0];
  const size_t stride = part_floats (p, s);
  for (int co = begin; co < end; co++)
    for (int ci = 0; ci < cin; ci++)
      {
        double sum[WINO_MAX_A][WINO_MAX_A], t[5][WINO_MAX_A];
        for (int e = 0; e < aa; e++)
          {
            double v = 0;
            for (int part = 0; part < p->parts; part++)
              v += jb->work[part * stride + ((size_t) e * cout + co) * cin + ci];
            sum[e / a][e % a] = v;
          }
        for (int ky = 0; ky < k; ky++)
          for (int nu = 0; nu < a; nu++)
            {
              double v = 0;
              for (int xi = 0; xi < a; xi++)
                v += At[ky * a + xi] * sum[xi][nu];
              t[ky][nu] = v;
            }
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++)
            {
              double v = 0;
              for (int nu = 0; nu < a; nu++)
                v += t[ky][nu] * At[kx * a + nu];
              jb->dw[(((size_t) co * k + ky) * k + kx) * cin + ci] += (float) v;
            }
      }
}

#endif /* IODINE_X86 */

void
SIMD_NAME (conv_winograd_backward_weights) (float *dw, const float *dy, const float *x, const ConvShape *s,
                                float *work)
{
#if IODINE_X86
  DwJob jb = { s, dw_plan (s), dy, x, work, dw };
  iodine_parallel_for (jb.plan.parts, run_parts, &jb);
  iodine_parallel_for (s->cout, finish_range, &jb);
#else
  (void) dw, (void) dy, (void) x, (void) s, (void) work;
  g_assert_not_reached ();
#endif
}
