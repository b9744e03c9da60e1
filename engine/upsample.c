/* Resampling and edge-aware mask upsampling for the plug-in: masks
 * computed at the model's training size are brought to full resolution by
 * a joint bilateral upsampling guided by the full-resolution image. The
 * weights of each pixel are computed once and shared by all masks; rows
 * are split over the CPU's cores. O(pixels × (16 + 16·slots)). */
#include "upsample.h"
#include "hot_loop.h"
#include "iodine.h"
#include "large_alloc.h"

#include <math.h>
#include <string.h>


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

/* ---- joint bilateral upsampling ------------------------------------------ */

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
  float *p = iodine_try_alloc_large (n_floats * sizeof (float));
  if (!p)
    g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                 "Out of memory: mask upsampling needs %zu MiB more",
                 n_floats * sizeof (float) >> 20);
  return p;
}

/* Joint bilateral upsampling (Kopf et al. 2007): each full-resolution pixel
 * is the weighted mean of the 4 × 4 nearest model pixels' mask values, the
 * weight being a spatial Gaussian (σ = 1 model pixel) times a range
 * Gaussian of the colour difference between the pixel and the model pixel
 * (the image as the model saw it). The masks summing to 1 is kept. */
#define JBU_SIGMA_SPACE 1.0
#define JBU_SIGMA_RANGE 0.1
#define JBU_LUT_SIZE 4096
#define JBU_LUT_SCALE (JBU_LUT_SIZE / 3.0)

typedef struct {
  const float *masks;
  int n, w, h;
  const float *guide;
  int W, H;
  const float *low_guide;
  float *out;
  /* [h, w]: 1 where the masks are constant over the 4 × 4 neighbourhood
   * whose first sample is this one, so that no weights are needed there */
  const guint8 *flat;
  float range_lut[JBU_LUT_SIZE];
} JbuShared;

typedef struct {
  JbuShared *shared;
  int y0, y1;
} JbuJob;

static void
jbu_axis (int i, int in, int out, int *first, float wt[4])
{
  double u = (i + 0.5) * in / out - 0.5;
  int f = (int) floor (u) - 1;
  *first = f;
  for (int t = 0; t < 4; t++)
    {
      int j = f + t;
      double d = j - u;
      wt[t] = (j < 0 || j >= in) ? 0.0f
              : (float) exp (-d * d / (2.0 * JBU_SIGMA_SPACE * JBU_SIGMA_SPACE));
    }
}

/* The 16 model pixels around a run of full-resolution pixels that share
 * them (about W / w pixels of a row): their colours, their mask values,
 * and the run's vertical spatial weights. */
typedef struct {
  float r[16], g[16], b[16];
  float wy[16];
  int tx[16];
  const float *mask[16];  /* masks + the model pixel's index (stride M per slot) */
} JbuTaps;

/* wt[t·len + x] ← the weight of tap t for pixel x of the run (spatial ×
 * range), norm[x] ← 1 / Σ_t; where no neighbour has a colour close to the
 * pixel's (Σ below 1e-4 of the spatial sum), the spatial weights alone.
 * Vectorised over the pixels of the run. */
HOT_LOOP static void
jbu_run_weights (const JbuTaps *tp, const float *restrict g, const float *restrict wxt, int W,
                 int len, const float *restrict lut, float *restrict wt, float *restrict norm,
                 float *restrict sp_total)
{
  for (int x = 0; x < len; x++)
    norm[x] = sp_total[x] = 0.0f;
  for (int t = 0; t < 16; t++)
    {
      const float wy = tp->wy[t], r = tp->r[t], gg = tp->g[t], b = tp->b[t];
      const float *wx = wxt + (size_t) tp->tx[t] * W;
      float *wrow = wt + (size_t) t * len;
      for (int x = 0; x < len; x++)
        {
          float sp = wy * wx[x];
          float dr = g[3 * x] - r, dg = g[3 * x + 1] - gg, db = g[3 * x + 2] - b;
          float d2 = dr * dr + dg * dg + db * db;
          int k = (int) (d2 * (float) JBU_LUT_SCALE);
          k = k < JBU_LUT_SIZE - 1 ? k : JBU_LUT_SIZE - 1;
          float w = sp * lut[k];
          wrow[x] = w;
          norm[x] += w;
          sp_total[x] += sp;
        }
    }
  for (int x = 0; x < len; x++)
    {
      if (norm[x] < 1e-4f * sp_total[x])
        {
          /* a colour none of the neighbours has: spatial weights alone */
          for (int t = 0; t < 16; t++)
            wt[(size_t) t * len + x] = tp->wy[t] * wxt[(size_t) tp->tx[t] * W + x];
          norm[x] = sp_total[x];
        }
      norm[x] = 1.0f / norm[x];
    }
}

/* out[x] ← Σ_t wt[t·len + x] · m[t], normalised, for one slot. */
HOT_LOOP static void
jbu_run_mix (float *restrict out, const float *restrict wt, const float *restrict norm,
             const float m[16], int len)
{
  for (int x = 0; x < len; x++)
    {
      float acc = 0.0f;
      for (int t = 0; t < 16; t++)
        acc += wt[(size_t) t * len + x] * m[t];
      acc *= norm[x];
      out[x] = acc < 0.0f ? 0.0f : acc > 1.0f ? 1.0f : acc;
    }
}

static gpointer
jbu_rows (gpointer data)
{
  JbuJob *job = data;
  const JbuShared *s = job->shared;
  int w = s->w, h = s->h, W = s->W, n = s->n;
  size_t N = (size_t) W * s->H, M = (size_t) w * h;
  int *fx = g_new (int, W);
  /* the horizontal spatial weights, tap-major: wxt[tx·W + x] */
  float *wxt = g_new (float, (size_t) W * 4);
  for (int x = 0; x < W; x++)
    {
      float wx[4];
      jbu_axis (x, w, W, &fx[x], wx);
      for (int t = 0; t < 4; t++)
        wxt[(size_t) t * W + x] = wx[t];
    }
  float *wt = g_new (float, (size_t) 16 * W);
  float *norm = g_new (float, W), *sp_total = g_new (float, W);

  for (int y = job->y0; y < job->y1; y++)
    {
      int fy;
      float wy[4];
      jbu_axis (y, h, s->H, &fy, wy);
      const float *g = s->guide + (size_t) y * W * 3;
      for (int xa = 0; xa < W;)
        {
          int f = fx[xa], xb = xa + 1;
          while (xb < W && fx[xb] == f)
            xb++;
          const int len = xb - xa;
          const size_t o = (size_t) y * W + xa;
          if (f >= 0 && fy >= 0 && s->flat[(size_t) CLAMP (fy, 0, h - 1) * w + CLAMP (f, 0, w - 1)])
            {
              /* every mask constant over the 16 neighbours */
              size_t c = (size_t) CLAMP (fy + 1, 0, h - 1) * w + CLAMP (f + 1, 0, w - 1);
              for (int k = 0; k < n; k++)
                {
                  float v = s->masks[(size_t) k * M + c];
                  float *dst = s->out + (size_t) k * N + o;
                  for (int x = 0; x < len; x++)
                    dst[x] = v;
                }
              xa = xb;
              continue;
            }
          JbuTaps tp;
          for (int t = 0; t < 16; t++)
            {
              int ty = t / 4, tx = t % 4;
              /* taps outside the model image have spatial weight 0; any
               * valid pixel stands in for them */
              size_t li = (size_t) CLAMP (fy + ty, 0, h - 1) * w + CLAMP (f + tx, 0, w - 1);
              tp.r[t] = s->low_guide[li * 3];
              tp.g[t] = s->low_guide[li * 3 + 1];
              tp.b[t] = s->low_guide[li * 3 + 2];
              tp.wy[t] = wy[ty];
              tp.tx[t] = tx;
              tp.mask[t] = s->masks + li;
            }
          jbu_run_weights (&tp, g + (size_t) xa * 3, wxt + xa, W, len, s->range_lut, wt, norm,
                           sp_total);
          for (int k = 0; k < n; k++)
            {
              float m[16];
              for (int t = 0; t < 16; t++)
                m[t] = tp.mask[t][(size_t) k * M];
              jbu_run_mix (s->out + (size_t) k * N + o, wt, norm, m, len);
            }
          xa = xb;
        }
    }
  g_free (wt);
  g_free (norm);
  g_free (sp_total);
  g_free (fx);
  g_free (wxt);
  return NULL;
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

  float *low_guide = try_alloc ((size_t) w * h * 3, error);
  if (!low_guide)
    {
      g_free (out);
      return NULL;
    }
  iodine_resample (guide, W, H, 3, low_guide, w, h);

  /* neighbourhoods (i..i+3, j..j+3) over which every mask is constant */
  size_t M = (size_t) w * h;
  guint8 *flat = g_new0 (guint8, M);
  for (int j = 0; j + 3 < h; j++)
    for (int i = 0; i + 3 < w; i++)
      {
        gboolean same = TRUE;
        for (int k = 0; k < n && same; k++)
          {
            const float *mk = masks + (size_t) k * M;
            float ref = mk[(size_t) j * w + i];
            for (int dy = 0; dy < 4 && same; dy++)
              for (int dx = 0; dx < 4; dx++)
                if (fabsf (mk[(size_t) (j + dy) * w + i + dx] - ref) > 1e-4f)
                  {
                    same = FALSE;
                    break;
                  }
          }
        flat[(size_t) j * w + i] = same;
      }
  JbuShared shared = { masks, n, w, h, guide, W, H, low_guide, out, flat, { 0 } };
  for (int i = 0; i < JBU_LUT_SIZE; i++)
    {
      double d2 = (double) i / JBU_LUT_SCALE;
      shared.range_lut[i] = (float) exp (-d2 / (2.0 * JBU_SIGMA_RANGE * JBU_SIGMA_RANGE));
    }
  int n_threads = CLAMP ((int) g_get_num_processors (), 1, 16);
  n_threads = MIN (n_threads, MAX (1, H / 64));
  JbuJob jobs[16];
  GThread *threads[16] = { NULL };
  for (int t = 0; t < n_threads; t++)
    {
      jobs[t].shared = &shared;
      jobs[t].y0 = (int) ((gint64) H * t / n_threads);
      jobs[t].y1 = (int) ((gint64) H * (t + 1) / n_threads);
      if (t > 0)
        threads[t] = g_thread_try_new ("iodine-upsample", jbu_rows, &jobs[t], NULL);
    }
  jbu_rows (&jobs[0]);
  for (int t = 1; t < n_threads; t++)
    {
      if (threads[t])
        g_thread_join (threads[t]);
      else
        jbu_rows (&jobs[t]);
    }
  g_free (low_guide);
  g_free (flat);

  renormalise (out, n, N);
  return out;
}
