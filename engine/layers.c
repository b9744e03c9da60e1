#include "layers.h"
#include "hot_loop.h"

#include "parallel.h"

#include <glib.h>

#include <cblas.h>
#include <math.h>
#include <string.h>

float
softplusf (float x)
{
  return x > 0.0f ? x + log1pf (expf (-x)) : log1pf (expf (x));
}

float
sigmoidf (float x)
{
  if (x >= 0.0f)
    return 1.0f / (1.0f + expf (-x));
  float e = expf (x);
  return e / (1.0f + e);
}

/* exp(x) − 1 for x ≤ 0, vectorisable (no libm call): exp by range
 * reduction x = k·ln2 + r and a degree-6 polynomial for e^r − 1 on
 * |r| ≤ ln2/2; relative error below 3e-7 for x > −0.5, absolute below
 * 1e-7 elsewhere, and exactly −1 below −87 (where e^x underflows). A
 * positive x (the ELU computes both sides of its select) counts as 0, as
 * in simd.h's elu_vec: else 2^k would overflow the exponent bits. */
static inline float
expm1_neg (float x)
{
  x = x < -87.0f ? -87.0f : x;
  x = x > 0.0f ? 0.0f : x;
  /* round to nearest by the 1.5·2^23 trick (roundf would be a libm call) */
  float kf = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  float r = x - kf * 0.693145752f - kf * 1.42860677e-6f;
  float p = r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666530e-2f
              + r * (8.33336753e-3f + r * (1.38889349e-3f + r * 1.98400865e-4f))))));
  /* 2^k by the exponent bits */
  int ki = (int) kf;
  union { float f; int i; } two_k = { .i = (ki + 127) << 23 };
  /* near 0, (p + 1) − 1 would lose p's low bits */
  return ki == 0 ? p : (p + 1.0f) * two_k.f - 1.0f;
}

HOT_LOOP static void
elu_forward_span (float *y, const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      /* both sides computed, then selected: a loop without branches */
      float v = x[i], e = expm1_neg (v);
      y[i] = v > 0.0f ? v : e;
    }
}

HOT_LOOP static void
elu_backward_span (float *dx, const float *dy, const float *y, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      float neg = dy[i] * (y[i] + 1.0f);
      dx[i] += y[i] > 0.0f ? dy[i] : neg;
    }
}

HOT_LOOP static void
elu_grad_scale_span (float *d, const float *y, size_t n)
{
  for (size_t i = 0; i < n; i++)
    d[i] *= y[i] > 0.0f ? 1.0f : y[i] + 1.0f;
}

/* Large element-wise passes are split over the engine's threads in blocks
 * of ELU_BLOCK elements (each element is computed the same way on any
 * thread). */
#define ELU_BLOCK 16384

typedef struct {
  float *out;
  const float *a, *b;
  size_t n;
} EluJob;

static void
elu_forward_blocks (int begin, int end, void *ctx)
{
  const EluJob *j = ctx;
  size_t i0 = (size_t) begin * ELU_BLOCK, i1 = MIN ((size_t) end * ELU_BLOCK, j->n);
  elu_forward_span (j->out + i0, j->a + i0, i1 - i0);
}

static void
elu_backward_blocks (int begin, int end, void *ctx)
{
  const EluJob *j = ctx;
  size_t i0 = (size_t) begin * ELU_BLOCK, i1 = MIN ((size_t) end * ELU_BLOCK, j->n);
  elu_backward_span (j->out + i0, j->a + i0, j->b + i0, i1 - i0);
}

void
elu_forward (float *y, const float *x, size_t n)
{
  EluJob j = { y, x, NULL, n };
  iodine_parallel_for ((int) ((n + ELU_BLOCK - 1) / ELU_BLOCK), elu_forward_blocks, &j);
}

void
elu_backward (float *dx, const float *dy, const float *y, size_t n)
{
  EluJob j = { dx, dy, y, n };
  iodine_parallel_for ((int) ((n + ELU_BLOCK - 1) / ELU_BLOCK), elu_backward_blocks, &j);
}

static void
elu_grad_scale_blocks (int begin, int end, void *ctx)
{
  const EluJob *j = ctx;
  size_t i0 = (size_t) begin * ELU_BLOCK, i1 = MIN ((size_t) end * ELU_BLOCK, j->n);
  elu_grad_scale_span (j->out + i0, j->a + i0, i1 - i0);
}

void
elu_grad_scale (float *d, const float *y, size_t n)
{
  EluJob j = { d, y, NULL, n };
  iodine_parallel_for ((int) ((n + ELU_BLOCK - 1) / ELU_BLOCK), elu_grad_scale_blocks, &j);
}

void
linear_forward (float *y, const float *x, const float *w, const float *b, int n, int in, int out)
{
  for (int r = 0; r < n; r++)
    {
      if (b)
        memcpy (y + (size_t) r * out, b, sizeof (float) * out);
      else
        memset (y + (size_t) r * out, 0, sizeof (float) * out);
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, 1.0f,
               y, out);
}

void
linear_backward (float *dx, float *dw, float *db, const float *dy, const float *x,
                 const float *w, int n, int in, int out)
{
  if (dx)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in,
                 1.0f, dx, in);
  if (dw)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in,
                 1.0f, dw, in);
  if (db)
    for (int r = 0; r < n; r++)
      for (int o = 0; o < out; o++)
        db[o] += dy[(size_t) r * out + o];
}

void
lstm_forward (float *h_new, float *c_new, float *gates, const float *x, const float *h_prev,
              const float *c_prev, const float *w_ih, const float *w_hh, const float *b, int n,
              int in, int hidden)
{
  int g4 = 4 * hidden;
  linear_forward (gates, x, w_ih, b, n, in, g4);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, g4, hidden, 1.0f, h_prev, hidden,
               w_hh, hidden, 1.0f, gates, g4);
  for (int r = 0; r < n; r++)
    {
      float *g = gates + (size_t) r * g4;
      for (int j = 0; j < hidden; j++)
        {
          float i = sigmoidf (g[j]);
          float f = sigmoidf (g[hidden + j]);
          float gg = tanhf (g[2 * hidden + j]);
          float o = sigmoidf (g[3 * hidden + j]);
          g[j] = i;
          g[hidden + j] = f;
          g[2 * hidden + j] = gg;
          g[3 * hidden + j] = o;
          float c = f * c_prev[(size_t) r * hidden + j] + i * gg;
          c_new[(size_t) r * hidden + j] = c;
          h_new[(size_t) r * hidden + j] = o * tanhf (c);
        }
    }
}

void
lstm_backward (float *dx, float *dh_prev, float *dc_prev, float *dw_ih, float *dw_hh, float *db,
               const float *dh, const float *dc, const float *gates, const float *c_new,
               const float *c_prev, const float *x, const float *h_prev, const float *w_ih,
               const float *w_hh, float *scratch, int n, int in, int hidden)
{
  int g4 = 4 * hidden;
  for (int r = 0; r < n; r++)
    {
      const float *g = gates + (size_t) r * g4;
      float *dg = scratch + (size_t) r * g4;
      for (int j = 0; j < hidden; j++)
        {
          size_t rj = (size_t) r * hidden + j;
          float i = g[j], f = g[hidden + j], gg = g[2 * hidden + j], o = g[3 * hidden + j];
          float tc = tanhf (c_new[rj]);
          float dct = dh[rj] * o * (1.0f - tc * tc) + (dc ? dc[rj] : 0.0f);
          dg[j] = dct * gg * i * (1.0f - i);
          dg[hidden + j] = dct * c_prev[rj] * f * (1.0f - f);
          dg[2 * hidden + j] = dct * i * (1.0f - gg * gg);
          dg[3 * hidden + j] = dh[rj] * tc * o * (1.0f - o);
          if (dc_prev)
            dc_prev[rj] += dct * f;
        }
    }
  linear_backward (dx, dw_ih, db, scratch, x, w_ih, n, in, g4);
  linear_backward (dh_prev, dw_hh, NULL, scratch, h_prev, w_hh, n, hidden, g4);
}

void
layernorm_forward (float *y, int y_stride, float *xhat, const float *x, int x_stride,
                   const float *gamma, const float *beta, int n, int count, int ch, float eps)
{
  for (int s = 0; s < n; s++)
    {
      const float *xs = x + (size_t) s * count * x_stride;
      double sum = 0.0, sq = 0.0;
      for (int p = 0; p < count; p++)
        for (int c = 0; c < ch; c++)
          sum += xs[(size_t) p * x_stride + c];
      double mean = sum / ((double) count * ch);
      for (int p = 0; p < count; p++)
        for (int c = 0; c < ch; c++)
          {
            double d = xs[(size_t) p * x_stride + c] - mean;
            sq += d * d;
          }
      float inv = (float) (1.0 / sqrt (sq / ((double) count * ch) + eps));
      float *ys = y + (size_t) s * count * y_stride;
      float *hs = xhat ? xhat + (size_t) s * count * ch : NULL;
      for (int p = 0; p < count; p++)
        for (int c = 0; c < ch; c++)
          {
            float h = (float) (xs[(size_t) p * x_stride + c] - mean) * inv;
            if (hs)
              hs[(size_t) p * ch + c] = h;
            ys[(size_t) p * y_stride + c] = h * gamma[c] + beta[c];
          }
    }
}

void
layernorm_affine_backward (float *dgamma, float *dbeta, const float *dy, int dy_stride,
                           const float *xhat, int n, int count, int ch)
{
  size_t rows = (size_t) n * count;
  for (size_t r = 0; r < rows; r++)
    for (int c = 0; c < ch; c++)
      {
        float g = dy[r * dy_stride + c];
        dgamma[c] += g * xhat[r * ch + c];
        dbeta[c] += g;
      }
}

void
meanpool_forward (float *y, const float *x, int n, int count, int ch)
{
  for (int s = 0; s < n; s++)
    {
      float *ys = y + (size_t) s * ch;
      memset (ys, 0, sizeof (float) * ch);
      const float *xs = x + (size_t) s * count * ch;
      for (int p = 0; p < count; p++)
        for (int c = 0; c < ch; c++)
          ys[c] += xs[(size_t) p * ch + c];
      for (int c = 0; c < ch; c++)
        ys[c] /= (float) count;
    }
}

void
meanpool_backward (float *dx, const float *dy, int n, int count, int ch)
{
  for (int s = 0; s < n; s++)
    for (int p = 0; p < count; p++)
      for (int c = 0; c < ch; c++)
        dx[((size_t) s * count + p) * ch + c] += dy[(size_t) s * ch + c] / (float) count;
}
