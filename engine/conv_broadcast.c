#include "conv_broadcast.h"

#include "parallel.h"

#include <cblas.h>
#include <glib.h>
#include <string.h>

/* work layout: wt [taps·cout, M] | wz [n, taps, cout] | coordconv [h·w, cout]
 *              | g [h·w, cout] | tmp [taps·cout, M] | classes [n, taps, cout] */
size_t
conv_broadcast_workspace_floats (const ConvShape *s)
{
  const size_t taps = (size_t) s->k * s->k, M = s->cin - 2, P = (size_t) s->h * s->w;
  return 2 * taps * s->cout * M + 2 * (size_t) s->n * taps * s->cout + 2 * P * s->cout;
}

/* The z part of the weights as [tap][cout] rows of M. */
static void
gather_wz (float *wt, const float *w, const ConvShape *s)
{
  const int taps = s->k * s->k, M = s->cin - 2;
  for (int co = 0; co < s->cout; co++)
    for (int tap = 0; tap < taps; tap++)
      memcpy (wt + ((size_t) tap * s->cout + co) * M, w + ((size_t) co * taps + tap) * s->cin,
              sizeof (float) * M);
}

/* The valid tap range of one output coordinate: taps kk with
 * 0 ≤ o − pad + kk < n. */
static inline void
tap_range (int o, int pad, int k, int n, int *lo, int *hi)
{
  *lo = pad - o > 0 ? pad - o : 0;
  *hi = n - o + pad < k ? n - o + pad : k;
}

/* The positions of one axis (n of them) grouped by their valid tap range:
 * all interior positions share [0, k), and each of the k/2 positions at
 * either border has its own, so there are at most k classes (fewer when
 * n < k). cls[o] is the class of position o; lo, hi its range. */
typedef struct {
  int count;
  int lo[16], hi[16];
  int cls[];
} TapClasses;

static TapClasses *
tap_classes_new (int pad, int k, int n)
{
  TapClasses *c = g_malloc (sizeof (TapClasses) + sizeof (int) * n);
  c->count = 0;
  for (int o = 0; o < n; o++)
    {
      int lo, hi, i;
      tap_range (o, pad, k, n, &lo, &hi);
      for (i = 0; i < c->count && (c->lo[i] != lo || c->hi[i] != hi); i++)
        ;
      if (i == c->count)
        {
          g_assert (c->count < 16);
          c->lo[i] = lo, c->hi[i] = hi, c->count++;
        }
      c->cls[o] = i;
    }
  return c;
}

typedef struct {
  const ConvShape *s;
  const TapClasses *ys, *xs;  /* rows and columns by valid tap range */
  float *tab;                 /* [n, classes, cout]: per slot, one sum per class pair */
  float *y;                   /* forward: output */
  const float *dy;            /* backward: output gradient */
  float *wz;                  /* forward: W·z per slot; backward: sd */
  const float *cc;            /* forward: coordinate part + bias */
  float *unused;
} BroadcastJob;

/* Output of slots [begin, end): the coordinate part plus W·z summed over
 * the taps that fall inside the image. That sum depends on the position
 * only through its row and column class, so it is made once per class pair
 * (at most k² of them) and then added to every position of the pair. */
static void
forward_slots (int begin, int end, void *ctx)
{
  const BroadcastJob *j = ctx;
  const ConvShape *s = j->s;
  const int k = s->k, C = s->cout, H = s->h, W = s->w, taps = k * k;
  const int ny = j->ys->count, nx = j->xs->count;
  const size_t P = (size_t) H * W;
  for (int n = begin; n < end; n++)
    {
      const float *wzn = j->wz + (size_t) n * taps * C;
      float *tab = j->tab + (size_t) n * taps * C;
      for (int cy = 0; cy < ny; cy++)
        for (int cx = 0; cx < nx; cx++)
          {
            float *t = tab + (size_t) (cy * nx + cx) * C;
            memset (t, 0, sizeof (float) * C);
            for (int ky = j->ys->lo[cy]; ky < j->ys->hi[cy]; ky++)
              for (int kx = j->xs->lo[cx]; kx < j->xs->hi[cx]; kx++)
                {
                  const float *v = wzn + (size_t) (ky * k + kx) * C;
                  for (int co = 0; co < C; co++)
                    t[co] += v[co];
                }
          }
      for (int oy = 0; oy < H; oy++)
        {
          const float *trow = tab + (size_t) j->ys->cls[oy] * nx * C;
          for (int ox = 0; ox < W; ox++)
            {
              const size_t p = (size_t) oy * W + ox;
              const float *t = trow + (size_t) j->xs->cls[ox] * C, *c = j->cc + p * C;
              float *out = j->y + ((size_t) n * P + p) * C;
              for (int co = 0; co < C; co++)
                out[co] = c[co] + t[co];
            }
        }
    }
}

/* sd[n, tap, co] of slots [begin, end): Σ of dy over the positions where
 * the tap falls inside the image: the sums of dy over each class pair, then
 * for each tap the sum over the class pairs whose range holds it. */
static void
backward_slots (int begin, int end, void *ctx)
{
  const BroadcastJob *j = ctx;
  const ConvShape *s = j->s;
  const int k = s->k, C = s->cout, H = s->h, W = s->w, taps = k * k;
  const int ny = j->ys->count, nx = j->xs->count;
  const size_t P = (size_t) H * W;
  for (int n = begin; n < end; n++)
    {
      float *sdn = j->wz + (size_t) n * taps * C;
      float *tab = j->tab + (size_t) n * taps * C;
      memset (tab, 0, sizeof (float) * ny * nx * C);
      for (int oy = 0; oy < H; oy++)
        {
          float *trow = tab + (size_t) j->ys->cls[oy] * nx * C;
          for (int ox = 0; ox < W; ox++)
            {
              const float *d = j->dy + ((size_t) n * P + (size_t) oy * W + ox) * C;
              float *t = trow + (size_t) j->xs->cls[ox] * C;
              for (int co = 0; co < C; co++)
                t[co] += d[co];
            }
        }
      memset (sdn, 0, sizeof (float) * taps * C);
      for (int cy = 0; cy < ny; cy++)
        for (int cx = 0; cx < nx; cx++)
          {
            const float *t = tab + (size_t) (cy * nx + cx) * C;
            for (int ky = j->ys->lo[cy]; ky < j->ys->hi[cy]; ky++)
              for (int kx = j->xs->lo[cx]; kx < j->xs->hi[cx]; kx++)
                {
                  float *v = sdn + (size_t) (ky * k + kx) * C;
                  for (int co = 0; co < C; co++)
                    v[co] += t[co];
                }
          }
    }
}

void
conv_broadcast_forward (float *y, const float *z, const float *coords, const float *w,
                        const float *b, const ConvShape *s, float *work)
{
  const int k = s->k, taps = k * k, M = s->cin - 2, C = s->cout, H = s->h, W = s->w;
  float *wt = work, *wz = wt + (size_t) taps * C * M, *cc = wz + (size_t) s->n * taps * C;
  gather_wz (wt, w, s);
  /* wz[n, (tap, co)] = z[n, :] · wt[(tap, co), :] */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, s->n, taps * C, M, 1.0f, z, M, wt, M,
               0.0f, wz, taps * C);
  /* the coordinate channels and the bias: the same for every slot */
  for (int oy = 0; oy < H; oy++)
    for (int ox = 0; ox < W; ox++)
      {
        float *c = cc + ((size_t) oy * W + ox) * C;
        memcpy (c, b, sizeof (float) * C);
        int y0, y1, x0, x1;
        tap_range (oy, s->pad, k, H, &y0, &y1);
        tap_range (ox, s->pad, k, W, &x0, &x1);
        for (int ky = y0; ky < y1; ky++)
          for (int kx = x0; kx < x1; kx++)
            {
              const float *q = coords + ((size_t) (oy - s->pad + ky) * W + (ox - s->pad + kx)) * 2;
              for (int co = 0; co < C; co++)
                {
                  const float *wc = w + ((size_t) co * taps + ky * k + kx) * s->cin + M;
                  c[co] += wc[0] * q[0] + wc[1] * q[1];
                }
            }
      }
  TapClasses *ys = tap_classes_new (s->pad, k, H), *xs = tap_classes_new (s->pad, k, W);
  float *tab = work + 2 * (size_t) taps * C * M + (size_t) s->n * taps * C + 2 * (size_t) H * W * C;
  BroadcastJob job = { s, ys, xs, tab, y, NULL, wz, cc, NULL };
  iodine_parallel_for (s->n, forward_slots, &job);
  g_free (ys);
  g_free (xs);
}

void
conv_broadcast_backward (float *dz, float *dw, float *db, const float *dy, const float *z,
                         const float *coords, const float *w, const ConvShape *s, float *work)
{
  const int k = s->k, taps = k * k, M = s->cin - 2, C = s->cout, H = s->h, W = s->w;
  const size_t P = (size_t) H * W;
  float *wt = work, *sd = wt + (size_t) taps * C * M, *g = sd + (size_t) s->n * taps * C;
  float *tmp = g + 2 * P * C;
  /* sd per slot in parallel; g = Σ_n dy (a reduction over slots) serially */
  TapClasses *ys = tap_classes_new (s->pad, k, H), *xs = tap_classes_new (s->pad, k, W);
  BroadcastJob job = { s, ys, xs, tmp + (size_t) taps * C * M, NULL, dy, sd, NULL, NULL };
  iodine_parallel_for (s->n, backward_slots, &job);
  g_free (ys);
  g_free (xs);
  memset (g, 0, sizeof (float) * P * C);
  for (int n = 0; n < s->n; n++)
    {
      const float *d = dy + (size_t) n * P * C;
      for (size_t i = 0; i < P * C; i++)
        g[i] += d[i];
    }
  if (dz)
    {
      gather_wz (wt, w, s);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, M, taps * C, 1.0f, sd,
                   taps * C, wt, M, 0.0f, dz, M);
    }
  if (db)
    for (size_t p = 0; p < P; p++)
      for (int co = 0; co < C; co++)
        db[co] += g[p * C + co];
  if (!dw)
    return;
  /* z part: tmp[(tap, co), m] = Σ_n sd[n, (tap, co)] z[n, m] */
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, taps * C, M, s->n, 1.0f, sd, taps * C,
               z, M, 0.0f, tmp, M);
  for (int co = 0; co < C; co++)
    for (int tap = 0; tap < taps; tap++)
      {
        float *dst = dw + ((size_t) co * taps + tap) * s->cin;
        const float *src = tmp + ((size_t) tap * C + co) * M;
        for (int m = 0; m < M; m++)
          dst[m] += src[m];
      }
  /* coordinate part: Σ_p g[p, co] · coords[p + tap] */
  for (int oy = 0; oy < H; oy++)
    for (int ox = 0; ox < W; ox++)
      {
        int y0, y1, x0, x1;
        tap_range (oy, s->pad, k, H, &y0, &y1);
        tap_range (ox, s->pad, k, W, &x0, &x1);
        const float *gp = g + ((size_t) oy * W + ox) * C;
        for (int ky = y0; ky < y1; ky++)
          for (int kx = x0; kx < x1; kx++)
            {
              const float *q = coords + ((size_t) (oy - s->pad + ky) * W + (ox - s->pad + kx)) * 2;
              for (int co = 0; co < C; co++)
                {
                  float *d = dw + ((size_t) co * taps + ky * k + kx) * s->cin + M;
                  d[0] += gp[co] * q[0];
                  d[1] += gp[co] * q[1];
                }
            }
      }
}
