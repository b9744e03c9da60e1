/* Direct stride-1 convolution kernels, compiled once per instruction set
 * (simd.h; see conv_direct.h). */
#include "conv_direct.h"

#include "parallel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* Output-channel vectors (VW floats each) a kernel handles: cout = VW·NV. */
#define MAX_NV 4
/* Most output pixels per register block. */
#define MAX_R 12
/* Most threads the kernels split their work over (the engine's thread
 * count, capped); each has its own padded image in the workspace. */
#define MAX_THREADS 4

/* A stride-1 "same" convolution from cin to cout channels the kernels handle. */
static gboolean
shape_ok (int cin, int cout, int k, int stride)
{
  return stride == 1 && k % 2 == 1 && k <= 15 && cin >= 1 && cin <= 1024 && cout % VW == 0
         && cout >= VW && cout <= VW * MAX_NV;
}

/* Few output channels (the 4-channel output head): a second kernel that
 * vectorises over input channels, for cin a multiple of VW up to VW·MAX_NV and
 * cout ≤ 4. */
#define SMALL_COUT 4
static gboolean
small_shape_ok (int cin, int cout, int k, int stride)
{
  return stride == 1 && k % 2 == 1 && k <= 15 && cin % VW == 0 && cin >= VW
         && cin <= VW * MAX_NV && cout >= 1 && cout <= SMALL_COUT;
}

gboolean
SIMD_NAME (conv_direct_available) (const ConvShape *s)
{
  return (shape_ok (s->cin, s->cout, s->k, s->stride)
          || small_shape_ok (s->cin, s->cout, s->k, s->stride))
         && simd_this_level_active ();
}

gboolean
SIMD_NAME (conv_direct_forward_elu_available) (const ConvShape *s)
{
  return shape_ok (s->cin, s->cout, s->k, s->stride) && simd_this_level_active ();
}

gboolean
SIMD_NAME (conv_direct_backward_input_available) (const ConvShape *s)
{
  return shape_ok (s->cout, s->cin, s->k, s->stride) && simd_this_level_active ();
}

/* The weight gradient vectorises over input channels and broadcasts output
 * channels: any cout, cin a multiple of VW up to VW·MAX_NV. */
static gboolean
dw_shape_ok (const ConvShape *s)
{
  return s->stride == 1 && s->k % 2 == 1 && s->k <= 15 && s->cin % VW == 0 && s->cin >= VW
         && s->cin <= VW * MAX_NV && s->cout >= 1;
}

gboolean
SIMD_NAME (conv_direct_backward_weights_available) (const ConvShape *s)
{
  return dw_shape_ok (s) && simd_this_level_active ();
}

static size_t
padded_floats (int h, int w, int c, int k)
{
  return (size_t) (h + k - 1) * (w + k - 1) * c;
}

size_t
SIMD_NAME (conv_direct_workspace_floats) (const ConvShape *s)
{
  size_t kk = (size_t) s->k * s->k, need = 0;
  if (shape_ok (s->cin, s->cout, s->k, s->stride))
    need = MAX (need, kk * s->cin * s->cout
                          + MAX_THREADS * padded_floats (s->h, s->w, s->cin, s->k));
  if (shape_ok (s->cout, s->cin, s->k, s->stride))
    need = MAX (need, kk * s->cin * s->cout
                          + MAX_THREADS * padded_floats (s->ho, s->wo, s->cout, s->k));
  if (dw_shape_ok (s) || small_shape_ok (s->cin, s->cout, s->k, s->stride))
    need = MAX (need, MAX_THREADS * padded_floats (s->h, s->w, s->cin, s->k));
  return need;
}

#if IODINE_X86

/* One block of R output pixels (one row, columns ox0 … ox0+R−1) × VW·NV
 * output channels: one group of the cout channels, whose first channel y,
 * wr, b and act point at. xp points at the padded input of the block's first pixel
 * (row oy, column ox0 of the padded image, whose rows are Wp pixels of cin
 * channels); wr holds the weights as [ky][kx][ci][cout]. Pixels j < j0 are
 * computed but not stored (an overlapping last block of a row). */
static SIMD_INLINE void
block_kernel (float *restrict y, const float *restrict xp, const float *restrict wr,
              const float *restrict b, const float *restrict act, int k, int cin, int Wp, int j0,
              int epi, int cout, const int NV, const int R)
{
  vf acc[MAX_R][MAX_NV];
#pragma GCC unroll 16
  for (int j = 0; j < R; j++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      acc[j][v] = vf_zero ();
  const int kc = k * cin;
  for (int ky = 0; ky < k; ky++)
    {
      const float *xr = xp + (size_t) ky * Wp * cin;
      const float *wk = wr + (size_t) ky * kc * cout;
      for (int q = 0; q < kc; q++)
        {
          vf wv[MAX_NV];
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            wv[v] = vf_load (wk + (size_t) q * cout + VW * v);
#pragma GCC unroll 16
          for (int j = 0; j < R; j++)
            {
              vf xb = vf_set1 (xr[(size_t) j * cin + q]);
#pragma GCC unroll 4
              for (int v = 0; v < NV; v++)
                acc[j][v] = vf_fmadd (xb, wv[v], acc[j][v]);
            }
        }
    }
#pragma GCC unroll 16
  for (int j = 0; j < R; j++)
    {
      if (j < j0)
        continue;
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++)
        {
          const size_t at = (size_t) j * cout + VW * v;
          vf out;
          switch (epi)
            {
            case CONV_EPI_ACCUMULATE:
              out = vf_add (acc[j][v], vf_load (y + at));
              break;
            case CONV_EPI_BIAS_ELU:
              out = elu_vec (vf_add (acc[j][v], vf_load (b + VW * v)));
              break;
            case CONV_EPI_ELU_GRAD:
              out = vf_mul (acc[j][v], elu_grad_vec (vf_load (act + at)));
              break;
            default:
              out = vf_add (acc[j][v], vf_load (b + VW * v));
            }
          vf_store (y + at, out);
        }
    }
}

typedef void (*BlockFn) (float *y, const float *xp, const float *wr, const float *b,
                         const float *act, int k, int cin, int Wp, int j0, int epi, int cout);

#define BLOCK_FN(NV, R)                                                                         \
  static SIMD void block_##NV##_##R (float *y, const float *xp, const float *wr,             \
                                       const float *b, const float *act, int k, int cin, int Wp, \
                                       int j0, int epi, int cout)                                \
  {                                                                                             \
    block_kernel (y, xp, wr, b, act, k, cin, Wp, j0, epi, cout, NV, R);                        \
  }
#define BLOCK_FNS(NV)                                                                           \
  BLOCK_FN (NV, 1)                                                                              \
  BLOCK_FN (NV, 2)                                                                              \
  BLOCK_FN (NV, 3)                                                                              \
  BLOCK_FN (NV, 4)                                                                              \
  BLOCK_FN (NV, 5)                                                                              \
  BLOCK_FN (NV, 6)                                                                              \
  BLOCK_FN (NV, 7)                                                                              \
  BLOCK_FN (NV, 8)                                                                              \
  BLOCK_FN (NV, 9)                                                                              \
  BLOCK_FN (NV, 10)                                                                             \
  BLOCK_FN (NV, 11)                                                                             \
  BLOCK_FN (NV, 12)
BLOCK_FNS (1)
BLOCK_FNS (2)
#if SIMD_MAX_GROUP > 2
BLOCK_FNS (3)
BLOCK_FNS (4)
#endif
#define BLOCK_ROW(NV)                                                                           \
  {                                                                                             \
    NULL, block_##NV##_1, block_##NV##_2, block_##NV##_3, block_##NV##_4, block_##NV##_5,       \
        block_##NV##_6, block_##NV##_7, block_##NV##_8, block_##NV##_9, block_##NV##_10,        \
        block_##NV##_11, block_##NV##_12                                                        \
  }
static const BlockFn block_fns[MAX_NV + 1][MAX_R + 1] = {
  { NULL }, BLOCK_ROW (1), BLOCK_ROW (2),
#if SIMD_MAX_GROUP > 2
  BLOCK_ROW (3), BLOCK_ROW (4),
#endif
};

/* Copies image x (h × w × c) into the interior of the zero-bordered buffer xp. */
static void
pad_image (float *xp, const float *x, int h, int w, int c, int k)
{
  const int p = k / 2, Wp = w + k - 1;
  for (int y = 0; y < h; y++)
    memcpy (xp + ((size_t) (y + p) * Wp + p) * c, x + (size_t) y * w * c, sizeof (float) * w * c);
}

/* The weight gradient of one tap for CB output channels × VW·NV input
 * channels (one group of the cin) over one image: dw[c][VW·v …] += Σ_p
 * dy[p][c] · xp[p + tap][VW·v …]. dw points at dw[c0][tap][ci0] (rows
 * dw_stride apart), dy at the image's dy[0][c0], xp at the padded image
 * shifted by the tap, at channel ci0 (pixels of cin channels). */
static SIMD_INLINE void
dw_kernel (float *restrict dw, size_t dw_stride, const float *restrict dy,
           const float *restrict xp, int ho, int wo, int cout, int Wp, int cin, const int NV,
           const int CB)
{
  vf acc[MAX_R][MAX_NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; c++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      acc[c][v] = vf_load (dw + c * dw_stride + VW * v);
  for (int oy = 0; oy < ho; oy++)
    {
      const float *a = dy + (size_t) oy * wo * cout;
      const float *bb = xp + (size_t) oy * Wp * cin;
      for (int ox = 0; ox < wo; ox++)
        {
          vf bv[MAX_NV];
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++)
            bv[v] = vf_load (bb + (size_t) ox * cin + VW * v);
#pragma GCC unroll 16
          for (int c = 0; c < CB; c++)
            {
              vf ab = vf_set1 (a[(size_t) ox * cout + c]);
#pragma GCC unroll 4
              for (int v = 0; v < NV; v++)
                acc[c][v] = vf_fmadd (ab, bv[v], acc[c][v]);
            }
        }
    }
#pragma GCC unroll 16
  for (int c = 0; c < CB; c++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      vf_store (dw + c * dw_stride + VW * v, acc[c][v]);
}

typedef void (*DwFn) (float *dw, size_t dw_stride, const float *dy, const float *xp, int ho,
                      int wo, int cout, int Wp, int cin);

#define DW_FN(NV, CB)                                                                           \
  static SIMD void dw_##NV##_##CB (float *dw, size_t dw_stride, const float *dy,             \
                                     const float *xp, int ho, int wo, int cout, int Wp, int cin) \
  {                                                                                             \
    dw_kernel (dw, dw_stride, dy, xp, ho, wo, cout, Wp, cin, NV, CB);                          \
  }
#define DW_FNS(NV)                                                                              \
  DW_FN (NV, 1)                                                                                 \
  DW_FN (NV, 2)                                                                                 \
  DW_FN (NV, 3)                                                                                 \
  DW_FN (NV, 4)                                                                                 \
  DW_FN (NV, 5)                                                                                 \
  DW_FN (NV, 6)                                                                                 \
  DW_FN (NV, 7)                                                                                 \
  DW_FN (NV, 8)                                                                                 \
  DW_FN (NV, 9)                                                                                 \
  DW_FN (NV, 10)                                                                                \
  DW_FN (NV, 11)                                                                                \
  DW_FN (NV, 12)
DW_FNS (1)
DW_FNS (2)
#if SIMD_MAX_GROUP > 2
DW_FNS (3)
DW_FNS (4)
#endif
#define DW_ROW(NV)                                                                              \
  {                                                                                             \
    NULL, dw_##NV##_1, dw_##NV##_2, dw_##NV##_3, dw_##NV##_4, dw_##NV##_5, dw_##NV##_6,         \
        dw_##NV##_7, dw_##NV##_8, dw_##NV##_9, dw_##NV##_10, dw_##NV##_11, dw_##NV##_12         \
  }
static const DwFn dw_fns[MAX_NV + 1][MAX_R + 1] = {
  { NULL }, DW_ROW (1), DW_ROW (2),
#if SIMD_MAX_GROUP > 2
  DW_ROW (3), DW_ROW (4),
#endif
};

/* One block of R output pixels × CO (≤ 4) output channels, vectorised over
 * the VW·nv input channels: one accumulator per (pixel, output channel),
 * summed across its lanes at the end. w is the engine's [cout][k][k][cin]. */
static SIMD_INLINE void
small_kernel (float *restrict y, const float *restrict xp, const float *restrict w,
              const float *restrict b, int k, int nv, int Wp, int j0, int accumulate,
              const int CO, const int R)
{
  const int cin = VW * nv, kk = k * k;
  vf acc[MAX_R][SMALL_COUT];
#pragma GCC unroll 16
  for (int j = 0; j < R; j++)
#pragma GCC unroll 4
    for (int c = 0; c < CO; c++)
      acc[j][c] = vf_zero ();
  for (int ky = 0; ky < k; ky++)
    for (int kx = 0; kx < k; kx++)
      {
        const float *xt = xp + ((size_t) ky * Wp + kx) * cin;
        const float *wt = w + ((size_t) ky * k + kx) * cin;
        for (int v = 0; v < nv; v++)
          {
            vf wv[SMALL_COUT];
#pragma GCC unroll 4
            for (int c = 0; c < CO; c++)
              wv[c] = vf_load (wt + (size_t) c * kk * cin + VW * v);
#pragma GCC unroll 16
            for (int j = 0; j < R; j++)
              {
                vf xv = vf_load (xt + (size_t) j * cin + VW * v);
#pragma GCC unroll 4
                for (int c = 0; c < CO; c++)
                  acc[j][c] = vf_fmadd (xv, wv[c], acc[j][c]);
              }
          }
      }
#pragma GCC unroll 16
  for (int j = 0; j < R; j++)
    {
      if (j < j0)
        continue;
#pragma GCC unroll 4
      for (int c = 0; c < CO; c++)
        {
          float sum = vf_reduce_add (acc[j][c]);
          float *dst = y + (size_t) j * CO + c;
          *dst = accumulate ? *dst + sum : b[c] + sum;
        }
    }
}

typedef void (*SmallFn) (float *y, const float *xp, const float *w, const float *b, int k, int nv,
                         int Wp, int j0, int accumulate);

#define SMALL_FN(CO, R)                                                                         \
  static SIMD void small_##CO##_##R (float *y, const float *xp, const float *w,              \
                                       const float *b, int k, int nv, int Wp, int j0,            \
                                       int accumulate)                                           \
  {                                                                                             \
    small_kernel (y, xp, w, b, k, nv, Wp, j0, accumulate, CO, R);                              \
  }
#define SMALL_FNS(CO)                                                                           \
  SMALL_FN (CO, 1)                                                                              \
  SMALL_FN (CO, 2)                                                                              \
  SMALL_FN (CO, 3)                                                                              \
  SMALL_FN (CO, 4)                                                                              \
  SMALL_FN (CO, 5)                                                                              \
  SMALL_FN (CO, 6)                                                                              \
  SMALL_FN (CO, 7)                                                                              \
  SMALL_FN (CO, 8)
SMALL_FNS (1)
SMALL_FNS (2)
SMALL_FNS (3)
SMALL_FNS (4)
#define SMALL_ROW(CO)                                                                           \
  {                                                                                             \
    NULL, small_##CO##_1, small_##CO##_2, small_##CO##_3, small_##CO##_4, small_##CO##_5,       \
        small_##CO##_6, small_##CO##_7, small_##CO##_8                                          \
  }
static const SmallFn small_fns[SMALL_COUT + 1][9] = {
  { NULL }, SMALL_ROW (1), SMALL_ROW (2), SMALL_ROW (3), SMALL_ROW (4),
};


/* One call's work, split into parts that write disjoint outputs: images for
 * the convolutions, (tap, output-channel block) pairs for the weight
 * gradient. Every output is computed by one part in the same order whatever
 * the number of parts, so results do not depend on it. */
typedef enum { JOB_CONV, JOB_SMALL, JOB_DW } JobKind;
typedef struct
{
  JobKind kind;
  float *y;        /* output (dw for JOB_DW) */
  const float *x;  /* input images, unpadded */
  const float *w;  /* packed weights (JOB_CONV), engine weights (JOB_SMALL), dy (JOB_DW) */
  const float *b;
  int n, h, w_, cin, cout, k;
  ConvEpilogue epi;
  const float *act; /* CONV_EPI_ELU_GRAD: ELU outputs, laid out as y */
  float *xp;        /* MAX_THREADS padded images */
} Job;

static int
block_for (const Job *j)
{
  if (j->kind == JOB_CONV)
    return simd_choose_block (j->w_, simd_channel_group (j->cout / VW));
  /* JOB_SMALL: fewest pixel computations, then the widest block */
  const int co = j->cout, rmax = MIN (8, (SIMD_REGS - co - 1) / co);
  int R = 1, best = INT32_MAX;
  for (int r = 1; r <= rmax && r <= j->w_; r++)
    {
      int cost = (j->w_ + r - 1) / r * (r * co + co + 1);
      if (cost <= best)
        best = cost, R = r;
    }
  return R;
}

/* One row of output pixels through block function fn (a BlockFn or a
 * SmallFn), the last block overlapping the one before. */
static void
conv_row (const Job *j, int R, float *yr, const float *xr, const float *ar, int Wp)
{
  const int wo = j->w_, cout = j->cout, cin = j->cin;
  int ox = 0;
  for (;; ox += R)
    {
      int start = ox + R <= wo ? ox : wo - R;
      int j0 = ox - start;
      if (j->kind == JOB_CONV)
        {
          const int group = simd_channel_group (cout / VW);
          for (int c0 = 0; c0 < cout; c0 += VW * group)
            block_fns[group][R](yr + (size_t) start * cout + c0, xr + (size_t) start * cin,
                                j->w + c0, j->b ? j->b + c0 : NULL,
                                ar ? ar + (size_t) start * cout + c0 : NULL, j->k, cin, Wp, j0,
                                j->epi, cout);
        }
      else
        small_fns[cout][R](yr + (size_t) start * cout, xr + (size_t) start * cin, j->w, j->b,
                           j->k, cin / VW, Wp, j0, j->epi == CONV_EPI_ACCUMULATE);
      if (ox + R >= wo)
        break;
    }
}

static void
job_part (const Job *j, int part, int parts)
{
  const int k = j->k, h = j->h, w = j->w_, cin = j->cin, cout = j->cout, Wp = w + k - 1;
  const size_t padded = padded_floats (h, w, cin, k);
  float *xp = j->xp + (size_t) part * padded;
  memset (xp, 0, sizeof (float) * padded);
  if (j->kind == JOB_DW)
    {
      const int kk = k * k, gv = simd_channel_group (cin / VW);
      /* input channels in groups of gv vectors, output channels in nearly
       * equal blocks of at most simd_max_block (gv) */
      const int nblocks = (cout + simd_max_block (gv) - 1) / simd_max_block (gv);
      const int units = kk * nblocks;
      const int u0 = (int) ((long) units * part / parts);
      const int u1 = (int) ((long) units * (part + 1) / parts);
      for (int i = 0; i < j->n; i++)
        {
          pad_image (xp, j->x + (size_t) i * h * w * cin, h, w, cin, k);
          const float *dyi = j->w + (size_t) i * h * w * cout;
          for (int u = u0; u < u1; u++)
            {
              const int t = u / nblocks, bi = u % nblocks;
              const int c0 = (int) ((long) cout * bi / nblocks);
              const int c1 = (int) ((long) cout * (bi + 1) / nblocks);
              const float *xt = xp + ((size_t) (t / k) * Wp + t % k) * cin;
              for (int ci0 = 0; ci0 < cin; ci0 += VW * gv)
                dw_fns[gv][c1 - c0](j->y + ((size_t) c0 * kk + t) * cin + ci0, (size_t) kk * cin,
                                    dyi + c0, xt + ci0, h, w, cout, Wp, cin);
            }
        }
      return;
    }
  const int R = block_for (j);
  const int i0 = (int) ((long) j->n * part / parts), i1 = (int) ((long) j->n * (part + 1) / parts);
  for (int i = i0; i < i1; i++)
    {
      pad_image (xp, j->x + (size_t) i * h * w * cin, h, w, cin, k);
      const size_t yi = (size_t) i * h * w * cout;
      for (int oy = 0; oy < h; oy++)
        conv_row (j, R, j->y + yi + (size_t) oy * w * cout, xp + (size_t) oy * Wp * cin,
                  j->act ? j->act + yi + (size_t) oy * w * cout : NULL, Wp);
    }
}

typedef struct
{
  const Job *job;
  int parts;
} Parts;

static void
run_parts (int begin, int end, void *ctx)
{
  const Parts *p = ctx;
  for (int part = begin; part < end; part++)
    job_part (p->job, part, p->parts);
}

/* Runs job in as many parts as the engine has threads (at most MAX_THREADS,
 * whose padded buffers the workspace holds, and at most units). */
static void
run_job (const Job *job, int units)
{
  int parts = MIN (MIN (iodine_parallel_threads (), MAX_THREADS), MAX (units, 1));
  Parts p = { job, parts };
  iodine_parallel_for (parts, run_parts, &p);
}

#endif /* IODINE_X86 */

void
SIMD_NAME (conv_direct_forward) (float *y, const float *x, const float *w, const float *b, const ConvShape *s,
                     float *work, ConvEpilogue epi)
{
#if IODINE_X86
  const int k = s->k, cin = s->cin, cout = s->cout, kk = k * k;
  Job job = { JOB_SMALL, y, x, w, b, s->n, s->h, s->w, cin, cout, k, epi, NULL, work };
  g_return_if_fail (epi == CONV_EPI_BIAS || epi == CONV_EPI_ACCUMULATE
                    || (epi == CONV_EPI_BIAS_ELU && shape_ok (cin, cout, k, s->stride)));
  if (shape_ok (cin, cout, k, s->stride))
    {
      float *wr = work;
      for (int co = 0; co < cout; co++)
        for (int t = 0; t < kk; t++)
          for (int ci = 0; ci < cin; ci++)
            wr[((size_t) t * cin + ci) * cout + co] = w[((size_t) co * kk + t) * cin + ci];
      job.kind = JOB_CONV;
      job.w = wr;
      job.xp = work + (size_t) kk * cin * cout;
    }
  run_job (&job, s->n);
#else
  (void) y, (void) x, (void) w, (void) b, (void) s, (void) work, (void) epi;
  g_assert_not_reached ();
#endif
}

void
SIMD_NAME (conv_direct_backward_input) (float *dx, const float *dy, const float *w, const ConvShape *s,
                            float *work, const float *elu_out)
{
#if IODINE_X86
  /* dx += dy ⋆ w flipped: a convolution from cout to cin channels whose
   * packed weights are wr[ky][kx][co][ci] = w[co][k−1−ky][k−1−kx][ci] */
  const int k = s->k, cin = s->cin, cout = s->cout, kk = k * k;
  float *wr = work;
  for (int co = 0; co < cout; co++)
    for (int t = 0; t < kk; t++)
      memcpy (wr + ((size_t) (kk - 1 - t) * cout + co) * cin, w + ((size_t) co * kk + t) * cin,
              sizeof (float) * cin);
  Job job = { JOB_CONV, dx, dy, wr, NULL, s->n, s->ho, s->wo, cout, cin, k,
              elu_out ? CONV_EPI_ELU_GRAD : CONV_EPI_ACCUMULATE, elu_out,
              work + (size_t) kk * cin * cout };
  run_job (&job, s->n);
#else
  (void) dx, (void) dy, (void) w, (void) s, (void) work, (void) elu_out;
  g_assert_not_reached ();
#endif
}

void
SIMD_NAME (conv_direct_backward_weights) (float *dw, const float *dy, const float *x, const ConvShape *s,
                              float *work)
{
#if IODINE_X86
  const int gv = simd_channel_group (s->cin / VW);
  const int nblocks = (s->cout + simd_max_block (gv) - 1) / simd_max_block (gv);
  Job job = { JOB_DW, dw, x, dy, NULL, s->n, s->h, s->w, s->cin, s->cout, s->k,
              CONV_EPI_ACCUMULATE, NULL, work };
  run_job (&job, s->k * s->k * nblocks);
#else
  (void) dw, (void) dy, (void) x, (void) s, (void) work;
  g_assert_not_reached ();
#endif
}
