#include "conv_broadcast.h"

#include "parallel.h"

#include <cblas.h>
#include <string.h>

/* work layout: wt [taps·cout, M] | wz [n, taps, cout] | coordconv [h·w, cout]
 *              | g [h·w, cout] | tmp [taps·cout, M] */
size_t
conv_broadcast_workspace_floats (const ConvShape *s)
{
  const size_t taps = (size_t) s->k * s->k, M = s->cin - 2, P = (size_t) s->h * s->w;
  return 2 * taps * s->cout * M + (size_t) s->n * taps * s->cout + 2 * P * s->cout;
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

typedef struct {
  const ConvShape *s;
  float *y;                   /* forward: output */
  const float *dy;            /* backward: output gradient */
  float *wz;                  /* forward: W·z per slot; backward: sd */
  const float *cc;            /* forward: coordinate part + bias */
  float *unused;
} BroadcastJob;

/* Output of slots [begin, end): the coordinate part plus W·z summed over
 * the taps that fall inside the image. */
static void
forward_slots (int begin, int end, void *ctx)
{
  const BroadcastJob *j = ctx;
  const ConvShape *s = j->s;
  const int k = s->k, C = s->cout, H = s->h, W = s->w, taps = k * k;
  const size_t P = (size_t) H * W;
  for (int n = begin; n < end; n++)
    {
      const float *wzn = j->wz + (size_t) n * taps * C;
      for (int oy = 0; oy < H; oy++)
        {
          int y0, y1;
          tap_range (oy, s->pad, k, H, &y0, &y1);
          for (int ox = 0; ox < W; ox++)
            {
              int x0, x1;
              tap_range (ox, s->pad, k, W, &x0, &x1);
              float *out = j->y + ((size_t) n * P + (size_t) oy * W + ox) * C;
              memcpy (out, j->cc + ((size_t) oy * W + ox) * C, sizeof (float) * C);
              for (int ky = y0; ky < y1; ky++)
                for (int kx = x0; kx < x1; kx++)
                  {
                    const float *v = wzn + (size_t) (ky * k + kx) * C;
                    for (int co = 0; co < C; co++)
                      out[co] += v[co];
                  }
            }
        }
    }
}

/* sd[n, tap, co] of slots [begin, end): Σ of dy over the positions where
 * the tap falls inside the image. */
static void
backward_slots (int begin, int end, void *ctx)
{
  const BroadcastJob *j = ctx;
  const ConvShape *s = j->s;
  const int k = s->k, C = s->cout, H = s->h, W = s->w, taps = k * k;
  const size_t P = (size_t) H * W;
  for (int n = begin; n < end; n++)
    {
      float *sdn = j->wz + (size_t) n * taps * C;
      memset (sdn, 0, sizeof (float) * taps * C);
      for (int oy = 0; oy < H; oy++)
        {
          int y0, y1;
          tap_range (oy, s->pad, k, H, &y0, &y1);
          for (int ox = 0; ox < W; ox++)
            {
              int x0, x1;
              tap_range (ox, s->pad, k, W, &x0, &x1);
              const float *d = j->dy + ((size_t) n * P + (size_t) oy * W + ox) * C;
              for (int ky = y0; ky < y1; ky++)
                for (int kx = x0; kx < x1; kx++)
                  {
                    float *v = sdn + (size_t) (ky * k + kx) * C;
                    for (int co = 0; co < C; co++)
                      v[co] += d[co];
                  }
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
  BroadcastJob job = { s, y, NULL, wz, cc, NULL };
  iodine_parallel_for (s->n, forward_slots, &job);
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
  BroadcastJob job = { s, NULL, dy, sd, NULL, NULL };
  iodine_parallel_for (s->n, backward_slots, &job);
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
