/* Winograd convolution, forward pass and input gradient, one copy per
 * instruction set (simd.h; see
 * conv_winograd.h; the weight gradient is conv_winograd_dw.c). */
#include "conv_winograd.h"

#include "conv_winograd_tiles.h"
#include "parallel.h"

#include <string.h>

/* Output-channel vectors (VW floats) the product kernel handles. */
#define MAX_NV WINO_MAX_NV
/* Most tiles per register block. */
#define MAX_R 12
#define MAX_A WINO_MAX_A
#define MAX_THREADS WINO_MAX_PARTS

gboolean
SIMD_NAME (conv_winograd_available) (const ConvShape *s)
{
  return wino_shape_ok (s->cin, s->cout, s->k, s->stride) && wino_enabled_here ();
}

gboolean
SIMD_NAME (conv_winograd_backward_input_available) (const ConvShape *s)
{
  return wino_shape_ok (s->cout, s->cin, s->k, s->stride) && wino_enabled_here ();
}

/* The geometry of one convolution from cin to cout channels on h × w
 * images: its tiles, how many of them a block takes, and the output
 * channels (in vectors) the product kernel does at a time. */
typedef struct
{
  WinoGrid g;
  int R;
  int group;
} Plan;

static Plan
plan_for (int h, int w, int cout, int k)
{
  Plan p;
  p.g = wino_grid (h, w, k);
  p.group = simd_channel_group (cout / VW);
  p.R = simd_choose_block (p.g.tiles_x, p.group);
  return p;
}

/* Per thread: the padded image, the transformed inputs V[a²][R][cin] of
 * one block of tiles, and their products M[a²][R][cout]. */
static size_t
part_floats (const Plan *p, int cin, int cout)
{
  return (size_t) p->g.hp * p->g.wp * cin + (size_t) p->g.a * p->g.a * MAX_R * (cin + cout);
}

static size_t
need_floats (int h, int w, int cin, int cout, int k)
{
  if (!wino_shape_ok (cin, cout, k, 1))
    return 0;
  Plan p = plan_for (h, w, cout, k);
  return (size_t) p.g.a * p.g.a * cin * cout + MAX_THREADS * part_floats (&p, cin, cout);
}

size_t
SIMD_NAME (conv_winograd_workspace_floats) (const ConvShape *s)
{
  if (s->stride != 1)
    return 0;
  return MAX (MAX (need_floats (s->h, s->w, s->cin, s->cout, s->k),
                   need_floats (s->ho, s->wo, s->cout, s->cin, s->k)),
              SIMD_NAME (conv_winograd_backward_weights_floats) (s));
}

/* The G matrix of F(4, k): a × k. */
static const double *
g_matrix (int k)
{
#if IODINE_X86
  if (k == 5)
    return &wino_g_4_5[0][0];
  if (k == 3)
    return &wino_g_4_3[0][0];
#endif
  (void) k;
  g_assert_not_reached ();
}

/* One call's weight transform: U[ξ][ν][ci][co] = (G w_(co,ci) G^T)[ξ][ν] of
 * a convolution from ci_n to co_n channels, in double precision: for the
 * forward pass w_(co,ci)[ky][kx] = w[co][ky][kx][ci]; for the input
 * gradient (flipped, channels swapped) it is w[ci][k−1−ky][k−1−kx][co] of
 * the engine's [cout][k][k][cin] array. */
typedef struct
{
  float *u;
  const float *w;
  const Plan *p;
  int ci_n, co_n;
  gboolean flipped;
} WeightJob;

/* Input channels [begin, end) of the transform (a parallel-for range). */
static void
transform_weights_range (int begin, int end, void *ctx)
{
  const WeightJob *j = ctx;
  const int k = j->p->g.k, a = j->p->g.a, kk = k * k, ci_n = j->ci_n, co_n = j->co_n;
  const double *G = g_matrix (k);
  for (int ci = begin; ci < end; ci++)
    for (int co = 0; co < co_n; co++)
      {
        double g[MAX_A][MAX_A], t[MAX_A][MAX_A];
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++)
            g[ky][kx] = j->flipped
                            ? j->w[((size_t) ci * kk + (k - 1 - ky) * k + (k - 1 - kx)) * co_n + co]
                            : j->w[((size_t) co * kk + ky * k + kx) * ci_n + ci];
        for (int xi = 0; xi < a; xi++)
          for (int kx = 0; kx < k; kx++)
            {
              double sum = 0;
              for (int ky = 0; ky < k; ky++)
                sum += G[xi * k + ky] * g[ky][kx];
              t[xi][kx] = sum;
            }
        for (int xi = 0; xi < a; xi++)
          for (int nu = 0; nu < a; nu++)
            {
              double sum = 0;
              for (int kx = 0; kx < k; kx++)
                sum += t[xi][kx] * G[nu * k + kx];
              j->u[((size_t) (xi * a + nu) * ci_n + ci) * co_n + co] = (float) sum;
            }
      }
}

#if IODINE_X86

static SIMD_INLINE void
transform_out (const vf *in, vf *out, const int K)
{
  if (K == 5)
    wino_out_4_5 (in, out);
  else
    wino_out_4_3 (in, out);
}

/* What the output tiles of one block are written into. */
typedef struct
{
  float *y;          /* one image's output, h × w × cout */
  const float *b;    /* bias (CONV_EPI_BIAS, CONV_EPI_BIAS_ELU) */
  const float *act;  /* CONV_EPI_ELU_GRAD: ELU outputs, laid out as y */
  int h, w, cout;
} OutTarget;

static SIMD_INLINE vf
epilogue (vf sum, const float *y, const float *b, const float *act, ConvEpilogue epi)
{
  switch (epi)
    {
    case CONV_EPI_ACCUMULATE:
      return vf_add (sum, vf_load (y));
    case CONV_EPI_BIAS_ELU:
      return elu_vec (vf_add (sum, vf_load (b)));
    case CONV_EPI_ELU_GRAD:
      return vf_mul (sum, elu_grad_vec (vf_load (act)));
    default:
      return vf_add (sum, vf_load (b));
    }
}

/* Y_j = A^T M_j A for the block's tiles j0 … R−1 (tiles before j0 belong to
 * the previous block), combined into the output at tile row ty, tile
 * column tx0 + j, outputs beyond the image dropped. */
static SIMD_INLINE void
output_tiles (const OutTarget *o, const float *restrict Mb, int ty, int tx0, int R, int j0,
              const int K, const ConvEpilogue EPI)
{
  const int M = WINO_M, A = M + K - 1, cout = o->cout;
  for (int j = j0; j < R; j++)
    for (int cv = 0; cv < cout; cv += VW)
      {
        vf t[MAX_A][MAX_A];
#pragma GCC unroll 8
        for (int c = 0; c < A; c++)
          {
            vf in[MAX_A], r[MAX_A];
#pragma GCC unroll 8
            for (int i = 0; i < A; i++)
              in[i] = vf_load (Mb + ((size_t) (i * A + c) * R + j) * cout + cv);
            transform_out (in, r, K);
#pragma GCC unroll 4
            for (int p = 0; p < M; p++)
              t[p][c] = r[p];
          }
        const int ox0 = (tx0 + j) * M;
#pragma GCC unroll 4
        for (int p = 0; p < M; p++)
          {
            const int oy = ty * M + p;
            if (oy >= o->h)
              break;
            vf r[MAX_A];
            transform_out (t[p], r, K);
#pragma GCC unroll 4
            for (int q = 0; q < M; q++)
              {
                if (ox0 + q >= o->w)
                  break;
                const size_t at = ((size_t) oy * o->w + ox0 + q) * cout + cv;
                vf_store (o->y + at, epilogue (r[q], o->y + at, o->b ? o->b + cv : NULL,
                                                       o->act ? o->act + at : NULL, EPI));
              }
          }
      }
}

/* The tile functions of F(4, K), one output function per epilogue (a
 * constant inside its loop). */
typedef void (*InputFn) (float *V, const float *xp, int wp, int cin, int R);
typedef void (*OutputFn) (const OutTarget *o, const float *Mb, int ty, int tx0, int R, int j0);
#define OUTPUT_FN(K, EPI)                                                                       \
  static SIMD void output_tiles_##K##_##EPI (const OutTarget *o, const float *Mb, int ty,    \
                                               int tx0, int R, int j0)                          \
  {                                                                                             \
    output_tiles (o, Mb, ty, tx0, R, j0, K, EPI);                                            \
  }
#define TILE_FNS(K)                                                                             \
  static SIMD void input_tiles_##K (float *V, const float *xp, int wp, int cin, int R)       \
  {                                                                                             \
    wino_tiles (V, xp, wp, cin, R, R, WINO_M + K - 1, WINO_M + K - 1,                          \
                K == 5 ? WINO_F4_5 : WINO_F4_3);                                                \
  }                                                                                             \
  OUTPUT_FN (K, CONV_EPI_BIAS)                                                                  \
  OUTPUT_FN (K, CONV_EPI_ACCUMULATE)                                                            \
  OUTPUT_FN (K, CONV_EPI_BIAS_ELU)                                                              \
  OUTPUT_FN (K, CONV_EPI_ELU_GRAD)                                                              \
  static const OutputFn output_fns_##K[] = {                                                    \
    [CONV_EPI_BIAS] = output_tiles_##K##_CONV_EPI_BIAS,                                         \
    [CONV_EPI_ACCUMULATE] = output_tiles_##K##_CONV_EPI_ACCUMULATE,                             \
    [CONV_EPI_BIAS_ELU] = output_tiles_##K##_CONV_EPI_BIAS_ELU,                                 \
    [CONV_EPI_ELU_GRAD] = output_tiles_##K##_CONV_EPI_ELU_GRAD,                                 \
  };
TILE_FNS (5)
TILE_FNS (3)

/* For each of the aa transformed positions e: M[e] (R × VW·NV) = V[e]
 * (R × cin) · U[e] (cin × VW·NV), with R·NV accumulators in registers, for
 * one group of VW·NV output channels: Mb and U point at the group's first
 * channel, their rows are cout floats. */
static SIMD_INLINE void
products_kernel (float *restrict Mb, const float *restrict V, const float *restrict U, int cin,
                 int aa, int cout, const int NV, const int R)
{
  for (int e = 0; e < aa; e++)
    {
      const float *v = V + (size_t) e * R * cin, *u = U + (size_t) e * cin * cout;
      vf acc[MAX_R][MAX_NV];
#pragma GCC unroll 16
      for (int j = 0; j < R; j++)
#pragma GCC unroll 4
        for (int n = 0; n < NV; n++)
          acc[j][n] = vf_zero ();
      for (int ci = 0; ci < cin; ci++)
        {
          vf wv[MAX_NV];
#pragma GCC unroll 4
          for (int n = 0; n < NV; n++)
            wv[n] = vf_load (u + (size_t) ci * cout + VW * n);
#pragma GCC unroll 16
          for (int j = 0; j < R; j++)
            {
              const vf xb = vf_set1 (v[(size_t) j * cin + ci]);
#pragma GCC unroll 4
              for (int n = 0; n < NV; n++)
                acc[j][n] = vf_fmadd (xb, wv[n], acc[j][n]);
            }
        }
      float *mb = Mb + (size_t) e * R * cout;
#pragma GCC unroll 16
      for (int j = 0; j < R; j++)
#pragma GCC unroll 4
        for (int n = 0; n < NV; n++)
          vf_store (mb + (size_t) j * cout + VW * n, acc[j][n]);
    }
}

typedef void (*ProductsFn) (float *Mb, const float *V, const float *U, int cin, int aa,
                            int cout);

#define PRODUCTS_FN(NV, R)                                                                      \
  static SIMD void products_##NV##_##R (float *Mb, const float *V, const float *U, int cin,  \
                                          int aa, int cout)                                     \
  {                                                                                             \
    products_kernel (Mb, V, U, cin, aa, cout, NV, R);                                           \
  }
#define PRODUCTS_FNS(NV)                                                                        \
  PRODUCTS_FN (NV, 1)                                                                           \
  PRODUCTS_FN (NV, 2)                                                                           \
  PRODUCTS_FN (NV, 3)                                                                           \
  PRODUCTS_FN (NV, 4)                                                                           \
  PRODUCTS_FN (NV, 5)                                                                           \
  PRODUCTS_FN (NV, 6)                                                                           \
  PRODUCTS_FN (NV, 7)                                                                           \
  PRODUCTS_FN (NV, 8)                                                                           \
  PRODUCTS_FN (NV, 9)                                                                           \
  PRODUCTS_FN (NV, 10)                                                                          \
  PRODUCTS_FN (NV, 11)                                                                          \
  PRODUCTS_FN (NV, 12)
PRODUCTS_FNS (1)
PRODUCTS_FNS (2)
#if SIMD_MAX_GROUP > 2
PRODUCTS_FNS (3)
PRODUCTS_FNS (4)
#endif
#define PRODUCTS_ROW(NV)                                                                        \
  {                                                                                             \
    NULL, products_##NV##_1, products_##NV##_2, products_##NV##_3, products_##NV##_4,           \
        products_##NV##_5, products_##NV##_6, products_##NV##_7, products_##NV##_8,             \
        products_##NV##_9, products_##NV##_10, products_##NV##_11, products_##NV##_12           \
  }
static const ProductsFn products_fns[MAX_NV + 1][MAX_R + 1] = {
  { NULL }, PRODUCTS_ROW (1), PRODUCTS_ROW (2),
#if SIMD_MAX_GROUP > 2
  PRODUCTS_ROW (3), PRODUCTS_ROW (4),
#endif
};

/* One call: n images of h × w × cin through the transformed weights u into
 * cout channels. */
typedef struct
{
  Plan plan;
  float *y;
  const float *x, *u, *b, *act;
  int n, h, w, cin, cout;
  float *scratch; /* MAX_THREADS × part_floats */
  InputFn input;
  OutputFn output;
} Job;

static void
job_part (const Job *jb, int part, int parts)
{
  const Plan *p = &jb->plan;
  const WinoGrid *g = &p->g;
  const int cin = jb->cin, cout = jb->cout, h = jb->h, w = jb->w, aa = g->a * g->a, R = p->R;
  float *xp = jb->scratch + (size_t) part * part_floats (p, cin, cout);
  float *V = xp + (size_t) g->hp * g->wp * cin, *Mb = V + (size_t) aa * MAX_R * cin;
  const int group = p->group;
  const ProductsFn products = products_fns[group][R];
  /* the border stays zero: every image writes the same interior */
  memset (xp, 0, sizeof (float) * g->hp * g->wp * cin);
  const int i0 = (int) ((long) jb->n * part / parts), i1 = (int) ((long) jb->n * (part + 1) / parts);
  for (int i = i0; i < i1; i++)
    {
      wino_pad_image (xp, jb->x + (size_t) i * h * w * cin, h, w, cin, g);
      const size_t yi = (size_t) i * h * w * cout;
      OutTarget o = { jb->y + yi, jb->b, jb->act ? jb->act + yi : NULL, h, w, cout };
      for (int ty = 0; ty < g->tiles_y; ty++)
        for (int tx = 0;; tx += R)
          {
            const int start = tx + R <= g->tiles_x ? tx : g->tiles_x - R;
            jb->input (V, xp + ((size_t) ty * WINO_M * g->wp + (size_t) start * WINO_M) * cin,
                       g->wp, cin, R);
            for (int c0 = 0; c0 < cout; c0 += VW * group)
              products (Mb + c0, V, jb->u + c0, cin, aa, cout);
            jb->output (&o, Mb, ty, start, R, tx - start);
            if (tx + R >= g->tiles_x)
              break;
          }
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
  const Parts *pp = ctx;
  for (int part = begin; part < end; part++)
    job_part (pp->job, part, pp->parts);
}

static void
run (float *y, const float *x, const float *w, const float *b, const float *act, int n, int h,
     int wd, int cin, int cout, int k, gboolean flipped, ConvEpilogue epi, float *work)
{
  Job jb = { plan_for (h, wd, cout, k), y, x, work, b, act, n, h, wd, cin, cout, NULL, NULL,
             NULL };
  const Plan *p = &jb.plan;
  jb.scratch = work + (size_t) p->g.a * p->g.a * cin * cout;
  WeightJob wj = { work, w, p, cin, cout, flipped };
  iodine_parallel_for (cin, transform_weights_range, &wj);
  if (k == 5)
    jb.input = input_tiles_5, jb.output = output_fns_5[epi];
  else
    jb.input = input_tiles_3, jb.output = output_fns_3[epi];
  Parts pp = { &jb, MIN (MIN (iodine_parallel_threads (), MAX_THREADS), MAX (n, 1)) };
  iodine_parallel_for (pp.parts, run_parts, &pp);
}

#endif /* IODINE_X86 */

void
SIMD_NAME (conv_winograd_forward) (float *y, const float *x, const float *w, const float *b,
                       const ConvShape *s, float *work, ConvEpilogue epi)
{
#if IODINE_X86
  g_return_if_fail (epi != CONV_EPI_ELU_GRAD);
  run (y, x, w, b, NULL, s->n, s->h, s->w, s->cin, s->cout, s->k, FALSE, epi, work);
#else
  (void) y, (void) x, (void) w, (void) b, (void) s, (void) work, (void) epi;
  g_assert_not_reached ();
#endif
}

void
SIMD_NAME (conv_winograd_backward_input) (float *dx, const float *dy, const float *w, const ConvShape *s,
                              float *work, const float *elu_out)
{
#if IODINE_X86
  run (dx, dy, w, NULL, elu_out, s->n, s->ho, s->wo, s->cout, s->cin, s->k, TRUE,
       elu_out ? CONV_EPI_ELU_GRAD : CONV_EPI_ACCUMULATE, work);
#else
  (void) dx, (void) dy, (void) w, (void) s, (void) work, (void) elu_out;
  g_assert_not_reached ();
#endif
}
