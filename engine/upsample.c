/* Edge-aware mask upsampling: a fast colour guided filter (He, Sun & Tang,
 * "Guided Image Filtering", 2010; He & Sun, "Fast Guided Filter", 2015).
 *
 * The low-resolution masks are bilinearly upsampled to a working resolution
 * of at most IODINE_GF_WORK_PIXELS pixels, where the guided filter's linear
 * coefficients (a, b) are computed against the image downscaled to that
 * resolution with box filters of radius ≈ one model pixel; a and b are then
 * bilinearly upsampled and applied to the full-resolution image, q = a·I + b.
 * Every step is O(pixels), independent of the radius. */
#include "upsample.h"
#include "iodine.h"

#include <math.h>
#include <string.h>

#define IODINE_GF_WORK_PIXELS (768 * 1024)
#define IODINE_GF_EPS 1e-3f

/* ---- separable resampling ---------------------------------------------- */

typedef struct {
  int *start, *count;
  float *weight;               /* [out, max_taps] */
  int max_taps;
} Taps;

static void
taps_clear (Taps *t)
{
  g_free (t->start);
  g_free (t->count);
  g_free (t->weight);
}

static void
taps_init (Taps *t, int in, int out)
{
  t->start = g_new (int, out);
  t->count = g_new (int, out);
  if (out < in)
    {
      /* area averaging: output i covers [i·s, (i+1)·s) of the input */
      double s = (double) in / out;
      t->max_taps = (int) ceil (s) + 2;
      t->weight = g_new0 (float, (size_t) out * t->max_taps);
      for (int i = 0; i < out; i++)
        {
          double x0 = i * s, x1 = (i + 1) * s;
          int j0 = (int) floor (x0), j1 = (int) ceil (x1);
          if (j1 > in) j1 = in;
          t->start[i] = j0;
          t->count[i] = j1 - j0;
          for (int j = j0; j < j1; j++)
            {
              double lo = MAX (x0, j), hi = MIN (x1, j + 1);
              t->weight[(size_t) i * t->max_taps + (j - j0)] = (float) ((hi - lo) / s);
            }
        }
    }
  else
    {
      /* bilinear, pixel centres aligned */
      double s = (double) in / out;
      t->max_taps = 2;
      t->weight = g_new0 (float, (size_t) out * 2);
      for (int i = 0; i < out; i++)
        {
          double x = (i + 0.5) * s - 0.5;
          if (x < 0) x = 0;
          if (x > in - 1) x = in - 1;
          int j0 = (int) floor (x);
          if (j0 > in - 2) j0 = MAX (in - 2, 0);
          double f = x - j0;
          t->start[i] = j0;
          t->count[i] = in > 1 ? 2 : 1;
          t->weight[i * 2] = (float) (1.0 - f);
          t->weight[i * 2 + 1] = (float) f;
          if (in == 1) t->weight[i * 2] = 1.0f;
        }
    }
}

void
iodine_resample (const float *src, int w, int h, int c, float *dst, int W, int H)
{
  Taps tx, ty;
  taps_init (&tx, w, W);
  taps_init (&ty, h, H);
  float *tmp = g_new (float, (size_t) h * W * c);

  for (int y = 0; y < h; y++)
    {
      const float *row = src + (size_t) y * w * c;
      float *out = tmp + (size_t) y * W * c;
      for (int x = 0; x < W; x++)
        {
          const float *wt = tx.weight + (size_t) x * tx.max_taps;
          for (int ch = 0; ch < c; ch++)
            {
              float acc = 0.0f;
              for (int j = 0; j < tx.count[x]; j++)
                acc += wt[j] * row[(size_t) (tx.start[x] + j) * c + ch];
              out[(size_t) x * c + ch] = acc;
            }
        }
    }
  size_t rowlen = (size_t) W * c;
  for (int y = 0; y < H; y++)
    {
      float *out = dst + (size_t) y * rowlen;
      const float *wt = ty.weight + (size_t) y * ty.max_taps;
      memset (out, 0, rowlen * sizeof (float));
      for (int j = 0; j < ty.count[y]; j++)
        {
          const float *in = tmp + (size_t) (ty.start[y] + j) * rowlen;
          float f = wt[j];
          for (size_t i = 0; i < rowlen; i++)
            out[i] += f * in[i];
        }
    }
  g_free (tmp);
  taps_clear (&tx);
  taps_clear (&ty);
}

/* ---- box filter ---------------------------------------------------------- */

/* Mean over the (2r+1)² window clipped to the image; O(W·H). tmp and colsum
 * are scratch of W·H and W floats. src and dst may not alias. */
static void
box_mean (const float *src, float *dst, int W, int H, int r, float *tmp, double *colsum)
{
  for (int y = 0; y < H; y++)
    {
      const float *in = src + (size_t) y * W;
      float *out = tmp + (size_t) y * W;
      double sum = 0.0;
      int hi = MIN (r, W - 1);
      for (int x = 0; x <= hi; x++)
        sum += in[x];
      for (int x = 0; x < W; x++)
        {
          int lo = MAX (x - r, 0), top = MIN (x + r, W - 1);
          out[x] = (float) (sum / (top - lo + 1));
          if (x + r + 1 < W) sum += in[x + r + 1];
          if (x - r >= 0) sum -= in[x - r];
        }
    }
  for (int x = 0; x < W; x++)
    colsum[x] = 0.0;
  for (int y = 0; y <= MIN (r, H - 1); y++)
    for (int x = 0; x < W; x++)
      colsum[x] += tmp[(size_t) y * W + x];
  for (int y = 0; y < H; y++)
    {
      int lo = MAX (y - r, 0), top = MIN (y + r, H - 1);
      double inv = 1.0 / (top - lo + 1);
      float *out = dst + (size_t) y * W;
      for (int x = 0; x < W; x++)
        out[x] = (float) (colsum[x] * inv);
      if (y + r + 1 < H)
        {
          const float *add = tmp + (size_t) (y + r + 1) * W;
          for (int x = 0; x < W; x++)
            colsum[x] += add[x];
        }
      if (y - r >= 0)
        {
          const float *sub = tmp + (size_t) (y - r) * W;
          for (int x = 0; x < W; x++)
            colsum[x] -= sub[x];
        }
    }
}

/* ---- guided filter ------------------------------------------------------- */

static void
renormalise (float *out, int n, size_t N)
{
  for (size_t i = 0; i < N; i++)
    {
      float sum = 0.0f;
      for (int k = 0; k < n; k++)
        sum += out[(size_t) k * N + i];
      if (sum > 1e-6f)
        {
          float inv = 1.0f / sum;
          for (int k = 0; k < n; k++)
            out[(size_t) k * N + i] *= inv;
        }
      else
        for (int k = 0; k < n; k++)
          out[(size_t) k * N + i] = 1.0f / n;
    }
}

static float *
try_alloc (size_t n_floats, GError **error)
{
  float *p = g_try_malloc (n_floats * sizeof (float));
  if (!p)
    g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                 "Out of memory: mask upsampling needs %zu MiB more",
                 n_floats * sizeof (float) >> 20);
  return p;
}

float *
iodine_upsample_masks (const float *masks, int n, int w, int h,
                       const float *guide, int W, int H, GError **error)
{
  g_return_val_if_fail (n > 0 && w > 0 && h > 0 && W > 0 && H > 0, NULL);
  size_t N = (size_t) W * H;
  float *out = try_alloc (N * n, error);
  if (!out)
    return NULL;

  if (W <= w && H <= h)
    {
      /* nothing to upsample: plain resampling keeps it exact */
      for (int k = 0; k < n; k++)
        iodine_resample (masks + (size_t) k * w * h, w, h, 1, out + (size_t) k * N, W, H);
      for (size_t i = 0; i < N * n; i++)
        out[i] = CLAMP (out[i], 0.0f, 1.0f);
      renormalise (out, n, N);
      return out;
    }

  /* working resolution */
  double f = sqrt ((double) N / IODINE_GF_WORK_PIXELS);
  if (f < 1.0) f = 1.0;
  int Ww = CLAMP ((int) ceil (W / f), MIN (w, W), W);
  int Hw = CLAMP ((int) ceil (H / f), MIN (h, H), H);
  size_t Nw = (size_t) Ww * Hw;
  double scale = MAX ((double) Ww / w, (double) Hw / h);
  int r = MAX (1, (int) ceil (scale));
  const float eps = IODINE_GF_EPS;

  /* planes at working resolution: I (3), mean_I (3), inverse covariance (6),
   * p, mean_p, Ip, a (3), b, tmp, and 4 coefficient planes */
  const int n_planes = 3 + 3 + 6 + 1 + 1 + 1 + 3 + 1 + 1 + 4 + 3;
  float *work = try_alloc (Nw * n_planes, error);
  double *colsum = g_try_new (double, Ww);
  if (!work || !colsum)
    {
      if (error && !*error)
        g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY, "Out of memory");
      g_free (work);
      g_free (colsum);
      g_free (out);
      return NULL;
    }
  float *Ipix = work;                       /* [Hw, Ww, 3] interleaved */
  float *I[3], *mI[3], *inv[6], *a[3], *A[4];
  float *plane = work + Nw * 3;
  for (int c = 0; c < 3; c++) I[c] = plane, plane += Nw;
  for (int c = 0; c < 3; c++) mI[c] = plane, plane += Nw;
  for (int c = 0; c < 6; c++) inv[c] = plane, plane += Nw;
  float *p = plane; plane += Nw;
  float *mp = plane; plane += Nw;
  float *Ip = plane; plane += Nw;
  for (int c = 0; c < 3; c++) a[c] = plane, plane += Nw;
  float *b = plane; plane += Nw;
  float *tmp = plane; plane += Nw;
  for (int c = 0; c < 4; c++) A[c] = plane, plane += Nw;
  float *mIp[3];
  for (int c = 0; c < 3; c++) mIp[c] = plane, plane += Nw;

  iodine_resample (guide, W, H, 3, Ipix, Ww, Hw);
  for (size_t i = 0; i < Nw; i++)
    for (int c = 0; c < 3; c++)
      I[c][i] = Ipix[i * 3 + c];
  for (int c = 0; c < 3; c++)
    box_mean (I[c], mI[c], Ww, Hw, r, tmp, colsum);

  /* covariance Σ + εI → its inverse (symmetric: 00 01 02 11 12 22) */
  {
    static const int pairs[6][2] = { {0, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 2} };
    for (int q = 0; q < 6; q++)
      {
        const float *u = I[pairs[q][0]], *v = I[pairs[q][1]];
        for (size_t i = 0; i < Nw; i++)
          p[i] = u[i] * v[i];
        box_mean (p, inv[q], Ww, Hw, r, tmp, colsum);
        const float *mu = mI[pairs[q][0]], *mv = mI[pairs[q][1]];
        for (size_t i = 0; i < Nw; i++)
          inv[q][i] -= mu[i] * mv[i];
      }
    for (size_t i = 0; i < Nw; i++)
      {
        double s00 = inv[0][i] + eps, s01 = inv[1][i], s02 = inv[2][i];
        double s11 = inv[3][i] + eps, s12 = inv[4][i], s22 = inv[5][i] + eps;
        double c00 = s11 * s22 - s12 * s12;
        double c01 = s02 * s12 - s01 * s22;
        double c02 = s01 * s12 - s02 * s11;
        double c11 = s00 * s22 - s02 * s02;
        double c12 = s01 * s02 - s00 * s12;
        double c22 = s00 * s11 - s01 * s01;
        double det = s00 * c00 + s01 * c01 + s02 * c02;
        double id = det > 1e-30 ? 1.0 / det : 0.0;
        inv[0][i] = (float) (c00 * id);
        inv[1][i] = (float) (c01 * id);
        inv[2][i] = (float) (c02 * id);
        inv[3][i] = (float) (c11 * id);
        inv[4][i] = (float) (c12 * id);
        inv[5][i] = (float) (c22 * id);
      }
  }

  /* bilinear taps from the working resolution to full resolution */
  Taps tx, ty;
  taps_init (&tx, Ww, W);
  taps_init (&ty, Hw, H);
  float *rows = g_new (float, (size_t) Ww * 4);

  for (int k = 0; k < n; k++)
    {
      iodine_resample (masks + (size_t) k * w * h, w, h, 1, p, Ww, Hw);
      box_mean (p, mp, Ww, Hw, r, tmp, colsum);
      for (int c = 0; c < 3; c++)
        {
          for (size_t i = 0; i < Nw; i++)
            Ip[i] = I[c][i] * p[i];
          box_mean (Ip, mIp[c], Ww, Hw, r, tmp, colsum);
        }
      for (size_t i = 0; i < Nw; i++)
        {
          float cv0 = mIp[0][i] - mI[0][i] * mp[i];
          float cv1 = mIp[1][i] - mI[1][i] * mp[i];
          float cv2 = mIp[2][i] - mI[2][i] * mp[i];
          float a0 = inv[0][i] * cv0 + inv[1][i] * cv1 + inv[2][i] * cv2;
          float a1 = inv[1][i] * cv0 + inv[3][i] * cv1 + inv[4][i] * cv2;
          float a2 = inv[2][i] * cv0 + inv[4][i] * cv1 + inv[5][i] * cv2;
          a[0][i] = a0;
          a[1][i] = a1;
          a[2][i] = a2;
          b[i] = mp[i] - a0 * mI[0][i] - a1 * mI[1][i] - a2 * mI[2][i];
        }
      for (int c = 0; c < 3; c++)
        box_mean (a[c], A[c], Ww, Hw, r, tmp, colsum);
      box_mean (b, A[3], Ww, Hw, r, tmp, colsum);

      /* q = A·I + B at full resolution, A and B bilinearly upsampled */
      float *q = out + (size_t) k * N;
      for (int y = 0; y < H; y++)
        {
          int y0 = ty.start[y], y1 = ty.count[y] > 1 ? y0 + 1 : y0;
          float wy0 = ty.weight[y * 2], wy1 = ty.weight[y * 2 + 1];
          for (int c = 0; c < 4; c++)
            {
              const float *r0 = A[c] + (size_t) y0 * Ww, *r1 = A[c] + (size_t) y1 * Ww;
              float *dst = rows + (size_t) c * Ww;
              for (int x = 0; x < Ww; x++)
                dst[x] = wy0 * r0[x] + wy1 * r1[x];
            }
          const float *g = guide + (size_t) y * W * 3;
          float *qrow = q + (size_t) y * W;
          for (int x = 0; x < W; x++)
            {
              int x0 = tx.start[x], x1 = tx.count[x] > 1 ? x0 + 1 : x0;
              float wx0 = tx.weight[x * 2], wx1 = tx.weight[x * 2 + 1];
              float v = 0.0f;
              for (int c = 0; c < 3; c++)
                {
                  const float *rc = rows + (size_t) c * Ww;
                  v += (wx0 * rc[x0] + wx1 * rc[x1]) * g[x * 3 + c];
                }
              const float *rb = rows + (size_t) 3 * Ww;
              v += wx0 * rb[x0] + wx1 * rb[x1];
              qrow[x] = CLAMP (v, 0.0f, 1.0f);
            }
        }
    }

  renormalise (out, n, N);
  g_free (rows);
  taps_clear (&tx);
  taps_clear (&ty);
  g_free (work);
  g_free (colsum);
  return out;
}
