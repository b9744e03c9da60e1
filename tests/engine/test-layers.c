/* Every layer's backward pass on its own, against central finite differences
 * of a scalar objective, plus forward checks against direct computations.
 *
 * The objective is Σ dy·y for a fixed random dy (for the mixture: the NLL, or
 * Σ a·masks + Σ b·post); the forward runs in float, as the engine does, and
 * the objective is accumulated in double. Every backward ACCUMULATES, so the
 * gradient arrays start at ACC (not 0) and ACC is subtracted before comparing:
 * this also checks the += contract.
 *
 * Accuracy: the layers that are affine in the perturbed value (linear, conv,
 * mean pool, layer-norm affine) have no truncation error, so only the float
 * rounding of the forward, ~1e-7·Σ|dy·y| / 2h, remains; the smooth ones (ELU,
 * LSTM, mixture) add an O(h²) truncation term, kept below 1e-4 relative by the
 * step sizes chosen. Each check states its bound
 *     |fd − analytic| ≤ rtol·(|fd| + |analytic|) + atol
 * with rtol = 1e-3 or 2e-3 and a small atol (1e-4 to 3e-3) set well below
 * every gradient's typical size (0.1–10). The worst errors measured (printed
 * as a fraction of the bound) are 0.3 of it for the LSTM weights, 0.08 for the
 * mixture and ≤ 0.02 elsewhere, while a wrong term or sign is off by O(1). */
#include "conv.h"
#include "iodine.h"
#include "layers.h"
#include "mixture.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ACC 0.25f

static IodineRng rng;
static int failures;

static float *
rand_array (size_t n, double sigma)
{
  float *a = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (sigma * iodine_rng_normal (&rng));
  return a;
}

static float *
acc_array (size_t n)
{
  float *a = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    a[i] = ACC;
  return a;
}

static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

typedef double (*ObjFn) (void *ctx);

/* Perturbs every element of var (or `max` random ones) by ±h and compares the
 * central difference of f with analytic[i] − ACC. */
static void
check_fd (const char *name, float *var, size_t n, const float *analytic, ObjFn f, void *ctx,
          float h, double rtol, double atol, size_t max)
{
  double worst = 0.0;
  int bad = 0;
  size_t count = max && max < n ? max : n;
  for (size_t j = 0; j < count; j++)
    {
      size_t i = count == n ? j : iodine_rng_below (&rng, (uint32_t) n);
      float saved = var[i];
      var[i] = saved + h;
      double fp = f (ctx);
      var[i] = saved - h;
      double fm = f (ctx);
      var[i] = saved;
      double fd = (fp - fm) / (2.0 * (double) h);
      double an = (double) analytic[i] - ACC;
      double err = fabs (fd - an);
      double bound = rtol * (fabs (fd) + fabs (an)) + atol;
      worst = MAX (worst, err / bound);
      if (!(err <= bound))
        {
          if (bad < 5)
            printf ("MISMATCH %s[%zu]: analytic %.7g, finite difference %.7g\n", name, i, an,
                    fd);
          bad++;
        }
    }
  printf ("%-28s %4zu checked, worst error %.3f of the bound (rtol %.0e, atol %.0e)%s\n", name,
          count, worst, rtol, atol, bad ? "  FAILED" : "");
  failures += bad;
}

static void
expect (gboolean ok, const char *what)
{
  if (!ok)
    {
      printf ("FAILED: %s\n", what);
      failures++;
    }
}

/* --- ELU --- */

typedef struct {
  float *x, *y, *dy;
  size_t n;
} EluCtx;

static double
elu_obj (void *p)
{
  EluCtx *c = p;
  elu_forward (c->y, c->x, c->n);
  return dot (c->dy, c->y, c->n);
}

static void
test_elu (void)
{
  EluCtx c = { .n = 40 };
  c.x = rand_array (c.n, 1.5);
  /* keep the finite differences off the kink at 0 */
  for (size_t i = 0; i < c.n; i++)
    if (fabsf (c.x[i]) < 0.05f)
      c.x[i] = c.x[i] < 0 ? -0.3f : 0.3f;
  c.y = g_new (float, c.n);
  c.dy = rand_array (c.n, 1.0);
  elu_forward (c.y, c.x, c.n);
  for (size_t i = 0; i < c.n; i++)
    {
      double want = c.x[i] > 0 ? c.x[i] : expm1 (c.x[i]);
      if (fabs (c.y[i] - want) > 1e-6)
        expect (FALSE, "elu forward");
    }
  float *dx = acc_array (c.n);
  elu_backward (dx, c.dy, c.y, c.n);
  /* smooth away from 0: h = 1e-2 leaves a truncation error ~h²/6 ≈ 2e-5 */
  check_fd ("elu dx", c.x, c.n, dx, elu_obj, &c, 1e-2f, 1e-3, 1e-4, 0);
  g_free (c.x);
  g_free (c.y);
  g_free (c.dy);
  g_free (dx);
}

/* --- linear --- */

typedef struct {
  float *x, *w, *b, *y, *dy;
  int n, in, out;
} LinCtx;

static double
lin_obj (void *p)
{
  LinCtx *c = p;
  linear_forward (c->y, c->x, c->w, c->b, c->n, c->in, c->out);
  return dot (c->dy, c->y, (size_t) c->n * c->out);
}

static void
test_linear (void)
{
  LinCtx c = { .n = 3, .in = 5, .out = 4 };
  c.x = rand_array ((size_t) c.n * c.in, 1.0);
  c.w = rand_array ((size_t) c.out * c.in, 0.5);
  c.b = rand_array (c.out, 0.5);
  c.y = g_new (float, (size_t) c.n * c.out);
  c.dy = rand_array ((size_t) c.n * c.out, 1.0);
  /* forward against the definition y = x·Wᵀ + b, and without bias */
  linear_forward (c.y, c.x, c.w, c.b, c.n, c.in, c.out);
  float *y0 = g_new (float, (size_t) c.n * c.out);
  linear_forward (y0, c.x, c.w, NULL, c.n, c.in, c.out);
  for (int r = 0; r < c.n; r++)
    for (int o = 0; o < c.out; o++)
      {
        double s = 0.0;
        for (int i = 0; i < c.in; i++)
          s += (double) c.x[r * c.in + i] * c.w[o * c.in + i];
        expect (fabs (c.y[r * c.out + o] - (s + c.b[o])) < 1e-5, "linear forward");
        expect (fabs (y0[r * c.out + o] - s) < 1e-5, "linear forward without bias");
      }
  float *dx = acc_array ((size_t) c.n * c.in), *dw = acc_array ((size_t) c.out * c.in),
        *db = acc_array (c.out);
  linear_backward (dx, dw, db, c.dy, c.x, c.w, c.n, c.in, c.out);
  /* affine in every value: rounding only */
  check_fd ("linear dx", c.x, (size_t) c.n * c.in, dx, lin_obj, &c, 0.1f, 1e-3, 1e-4, 0);
  check_fd ("linear dw", c.w, (size_t) c.out * c.in, dw, lin_obj, &c, 0.1f, 1e-3, 1e-4, 0);
  check_fd ("linear db", c.b, c.out, db, lin_obj, &c, 0.1f, 1e-3, 1e-4, 0);
  /* NULL gradients are skipped */
  linear_backward (NULL, NULL, NULL, c.dy, c.x, c.w, c.n, c.in, c.out);
  g_free (c.x);
  g_free (c.w);
  g_free (c.b);
  g_free (c.y);
  g_free (y0);
  g_free (c.dy);
  g_free (dx);
  g_free (dw);
  g_free (db);
}

/* --- LSTM cell --- */

typedef struct {
  float *x, *h_prev, *c_prev, *w_ih, *w_hh, *b;
  float *h_new, *c_new, *gates, *dh, *dc;
  int n, in, hidden;
} LstmCtx;

static double
lstm_obj (void *p)
{
  LstmCtx *c = p;
  lstm_forward (c->h_new, c->c_new, c->gates, c->x, c->h_prev, c->c_prev, c->w_ih, c->w_hh,
                c->b, c->n, c->in, c->hidden);
  size_t nh = (size_t) c->n * c->hidden;
  return dot (c->dh, c->h_new, nh) + (c->dc ? dot (c->dc, c->c_new, nh) : 0.0);
}

static double
sigm (double v)
{
  return 1.0 / (1.0 + exp (-v));
}

static void
test_lstm_with (gboolean with_dc)
{
  LstmCtx c = { .n = 2, .in = 3, .hidden = 4 };
  const int n = c.n, in = c.in, H = c.hidden, G = 4 * H;
  c.x = rand_array ((size_t) n * in, 1.0);
  c.h_prev = rand_array ((size_t) n * H, 0.7);
  c.c_prev = rand_array ((size_t) n * H, 1.0);
  c.w_ih = rand_array ((size_t) G * in, 0.6);
  c.w_hh = rand_array ((size_t) G * H, 0.6);
  c.b = rand_array (G, 0.5);
  c.h_new = g_new (float, (size_t) n * H);
  c.c_new = g_new (float, (size_t) n * H);
  c.gates = g_new (float, (size_t) n * G);
  c.dh = rand_array ((size_t) n * H, 1.0);
  c.dc = with_dc ? rand_array ((size_t) n * H, 1.0) : NULL;
  lstm_obj (&c);
  /* forward against the PyTorch definition (gates i, f, g, o) in double */
  for (int r = 0; r < n; r++)
    for (int j = 0; j < H; j++)
      {
        double pre[4];
        for (int q = 0; q < 4; q++)
          {
            int row = q * H + j;
            double s = c.b[row];
            for (int i = 0; i < in; i++)
              s += (double) c.w_ih[row * in + i] * c.x[r * in + i];
            for (int i = 0; i < H; i++)
              s += (double) c.w_hh[row * H + i] * c.h_prev[r * H + i];
            pre[q] = s;
          }
        double cn = sigm (pre[1]) * c.c_prev[r * H + j] + sigm (pre[0]) * tanh (pre[2]);
        double hn = sigm (pre[3]) * tanh (cn);
        expect (fabs (c.c_new[r * H + j] - cn) < 1e-5 && fabs (c.h_new[r * H + j] - hn) < 1e-5,
                "lstm forward");
      }
  float *dx = acc_array ((size_t) n * in), *dhp = acc_array ((size_t) n * H),
        *dcp = acc_array ((size_t) n * H), *dwih = acc_array ((size_t) G * in),
        *dwhh = acc_array ((size_t) G * H), *db = acc_array (G);
  float *scratch = g_new (float, (size_t) n * G);
  lstm_backward (dx, dhp, dcp, dwih, dwhh, db, c.dh, c.dc, c.gates, c.c_new, c.c_prev, c.x,
                 c.h_prev, c.w_ih, c.w_hh, scratch, n, in, H);
  /* smooth: h = 5e-3 gives a truncation error below 1e-5 of the gradients
   * (which are O(0.1–1)); bound 2e-3 relative + 1e-4 */
  const float h = 5e-3f;
  const double rt = 2e-3, at = 1e-4;
  char name[64];
#define CHK(label, var, cnt, grad)                                                      \
  g_snprintf (name, sizeof name, "lstm%s %s", with_dc ? "" : " (dc NULL)", label);     \
  check_fd (name, var, cnt, grad, lstm_obj, &c, h, rt, at, 0)
  CHK ("dx", c.x, (size_t) n * in, dx);
  CHK ("dh_prev", c.h_prev, (size_t) n * H, dhp);
  CHK ("dc_prev", c.c_prev, (size_t) n * H, dcp);
  CHK ("dw_ih", c.w_ih, (size_t) G * in, dwih);
  CHK ("dw_hh", c.w_hh, (size_t) G * H, dwhh);
  CHK ("db", c.b, G, db);
#undef CHK
  g_free (c.x);
  g_free (c.h_prev);
  g_free (c.c_prev);
  g_free (c.w_ih);
  g_free (c.w_hh);
  g_free (c.b);
  g_free (c.h_new);
  g_free (c.c_new);
  g_free (c.gates);
  g_free (c.dh);
  g_free (c.dc);
  g_free (dx);
  g_free (dhp);
  g_free (dcp);
  g_free (dwih);
  g_free (dwhh);
  g_free (db);
  g_free (scratch);
}

/* --- layer norm --- */

/* x: [n, count, 5] channels, the group is channels 2..4; y: [n, count, 4]
 * channels, the group is written to channels 1..3. */
#define LN_XS 5
#define LN_XO 2
#define LN_YS 4
#define LN_YO 1

typedef struct {
  float *x, *y, *xhat, *gamma, *beta, *dy;
  int n, count, ch;
} LnCtx;

static double
ln_obj (void *p)
{
  LnCtx *c = p;
  layernorm_forward (c->y + LN_YO, LN_YS, c->xhat, c->x + LN_XO, LN_XS, c->gamma, c->beta, c->n,
                     c->count, c->ch, 1e-5f);
  double s = 0.0;
  for (int r = 0; r < c->n * c->count; r++)
    for (int k = 0; k < c->ch; k++)
      s += (double) c->dy[r * LN_YS + LN_YO + k] * c->y[r * LN_YS + LN_YO + k];
  return s;
}

static void
test_layernorm (void)
{
  LnCtx c = { .n = 2, .count = 6, .ch = 3 };
  const size_t rows = (size_t) c.n * c.count;
  c.x = rand_array (rows * LN_XS, 2.0);
  for (size_t i = 0; i < rows * LN_XS; i++)
    c.x[i] += 3.0f; /* an offset the normalisation removes */
  c.y = g_new (float, rows * LN_YS);
  for (size_t i = 0; i < rows * LN_YS; i++)
    c.y[i] = 777.0f; /* sentinel outside the group */
  c.xhat = g_new (float, rows * c.ch);
  c.gamma = rand_array (c.ch, 1.0);
  c.beta = rand_array (c.ch, 1.0);
  c.dy = rand_array (rows * LN_YS, 1.0);
  ln_obj (&c);
  /* x̂ has mean 0 and variance v/(v + ε) ≈ 1 over each group of count·ch
   * values; y = x̂·γ_c + β_c at the strided positions, nothing else written */
  for (int s = 0; s < c.n; s++)
    {
      double sum = 0.0, sq = 0.0, xs = 0.0, xq = 0.0;
      const int m = c.count * c.ch;
      for (int p = 0; p < c.count; p++)
        for (int k = 0; k < c.ch; k++)
          {
            size_t r = (size_t) s * c.count + p;
            double v = c.xhat[r * c.ch + k];
            sum += v;
            sq += v * v;
            double xv = c.x[r * LN_XS + LN_XO + k];
            xs += xv;
            xq += xv * xv;
            expect (fabs (c.y[r * LN_YS + LN_YO + k] - (v * c.gamma[k] + c.beta[k])) < 1e-5,
                    "layernorm affine output");
          }
      double var_x = xq / m - (xs / m) * (xs / m);
      double want_var = var_x / (var_x + 1e-5);
      printf ("layernorm group %d: mean %.2e, variance %.7f (want %.7f)\n", s, sum / m, sq / m,
              want_var);
      expect (fabs (sum / m) < 1e-6, "layernorm mean 0");
      expect (fabs (sq / m - want_var) < 1e-5, "layernorm variance 1");
    }
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < LN_YS; k++)
      if (k < LN_YO || k >= LN_YO + c.ch)
        expect (c.y[r * LN_YS + k] == 777.0f, "layernorm writes only its channels");
  float *dg = acc_array (c.ch), *dbt = acc_array (c.ch);
  layernorm_affine_backward (dg, dbt, c.dy + LN_YO, LN_YS, c.xhat, c.n, c.count, c.ch);
  /* affine in γ and β: rounding only */
  check_fd ("layernorm dgamma", c.gamma, c.ch, dg, ln_obj, &c, 0.1f, 1e-3, 1e-4, 0);
  check_fd ("layernorm dbeta", c.beta, c.ch, dbt, ln_obj, &c, 0.1f, 1e-3, 1e-4, 0);
  g_free (c.x);
  g_free (c.y);
  g_free (c.xhat);
  g_free (c.gamma);
  g_free (c.beta);
  g_free (c.dy);
  g_free (dg);
  g_free (dbt);
}

/* --- mean pool --- */

typedef struct {
  float *x, *y, *dy;
  int n, count, ch;
} PoolCtx;

static double
pool_obj (void *p)
{
  PoolCtx *c = p;
  meanpool_forward (c->y, c->x, c->n, c->count, c->ch);
  return dot (c->dy, c->y, (size_t) c->n * c->ch);
}

static void
test_meanpool (void)
{
  PoolCtx c = { .n = 2, .count = 7, .ch = 3 };
  size_t nx = (size_t) c.n * c.count * c.ch;
  c.x = rand_array (nx, 1.0);
  c.y = g_new (float, (size_t) c.n * c.ch);
  c.dy = rand_array ((size_t) c.n * c.ch, 1.0);
  pool_obj (&c);
  for (int s = 0; s < c.n; s++)
    for (int k = 0; k < c.ch; k++)
      {
        double m = 0.0;
        for (int p = 0; p < c.count; p++)
          m += c.x[((size_t) s * c.count + p) * c.ch + k];
        expect (fabs (c.y[s * c.ch + k] - m / c.count) < 1e-6, "meanpool forward");
      }
  float *dx = acc_array (nx);
  meanpool_backward (dx, c.dy, c.n, c.count, c.ch);
  check_fd ("meanpool dx", c.x, nx, dx, pool_obj, &c, 0.1f, 1e-3, 1e-4, 0);
  g_free (c.x);
  g_free (c.y);
  g_free (c.dy);
  g_free (dx);
}

/* --- convolution --- */

/* Direct convolution in double with PyTorch-layout weights [cout, cin, k, k]. */
static void
naive_conv (double *y, const float *x, const float *wt, const float *b, const ConvShape *s)
{
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->ho; oy++)
      for (int ox = 0; ox < s->wo; ox++)
        for (int o = 0; o < s->cout; o++)
          {
            double acc = b[o];
            for (int i = 0; i < s->cin; i++)
              for (int ky = 0; ky < s->k; ky++)
                for (int kx = 0; kx < s->k; kx++)
                  {
                    int iy = oy * s->stride - s->k / 2 + ky, ix = ox * s->stride - s->k / 2 + kx;
                    if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                      continue;
                    acc += (double) wt[((o * s->cin + i) * s->k + ky) * s->k + kx]
                           * x[(((size_t) n * s->h + iy) * s->w + ix) * s->cin + i];
                  }
            y[(((size_t) n * s->ho + oy) * s->wo + ox) * s->cout + o] = acc;
          }
}

/* Direct backward in double: dx, dw (engine layout), db of Σ dy·y. */
static void
naive_conv_backward (double *dx, double *dw, double *db, const double *dy, const float *x,
                     const float *w, const ConvShape *s)
{
  const int k = s->k;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->ho; oy++)
      for (int ox = 0; ox < s->wo; ox++)
        for (int o = 0; o < s->cout; o++)
          {
            double g = dy[(((size_t) n * s->ho + oy) * s->wo + ox) * s->cout + o];
            db[o] += g;
            for (int ky = 0; ky < k; ky++)
              for (int kx = 0; kx < k; kx++)
                {
                  int iy = oy * s->stride - k / 2 + ky, ix = ox * s->stride - k / 2 + kx;
                  if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                    continue;
                  for (int i = 0; i < s->cin; i++)
                    {
                      size_t xi = (((size_t) n * s->h + iy) * s->w + ix) * s->cin + i;
                      size_t wi = (((size_t) o * k + ky) * k + kx) * s->cin + i;
                      dw[wi] += g * x[xi];
                      dx[xi] += g * w[wi];
                    }
                }
          }
}

typedef struct {
  ConvShape s;
  float *x, *w, *b, *y, *dy, *work;
} ConvCtx;

static double
conv_obj (void *p)
{
  ConvCtx *c = p;
  conv_forward (c->y, c->x, c->w, c->b, &c->s, c->work);
  return dot (c->dy, c->y, (size_t) c->s.n * c->s.ho * c->s.wo * c->s.cout);
}

static void
test_conv (int n, int h, int w, int cin, int cout, int k, int stride, gboolean fd)
{
  ConvCtx c;
  conv_shape_init (&c.s, n, h, w, cin, cout, k, stride);
  const ConvShape *s = &c.s;
  expect (s->pad == k / 2 && s->ho == (h - 1) / stride + 1 && s->wo == (w - 1) / stride + 1,
          "conv output shape");
  size_t nx = (size_t) n * h * w * cin, nw = (size_t) cout * k * k * cin;
  size_t ny = (size_t) n * s->ho * s->wo * cout;
  c.x = rand_array (nx, 1.0);
  float *wt = rand_array (nw, 0.3); /* PyTorch layout */
  c.w = g_new (float, nw);
  conv_weight_from_torch (c.w, wt, cout, cin, k);
  c.b = rand_array (cout, 0.5);
  c.y = g_new (float, ny);
  c.dy = rand_array (ny, 1.0);
  c.work = g_new (float, conv_workspace_floats (s));
  char name[96];
  g_snprintf (name, sizeof name, "conv n%d %dx%d cin%d cout%d k%d s%d", n, h, w, cin, cout, k,
              stride);

  /* forward against the direct loop (which also checks the weight layout) */
  double *ref = g_new (double, ny);
  naive_conv (ref, c.x, wt, c.b, s);
  conv_obj (&c);
  double worst = 0.0;
  for (size_t i = 0; i < ny; i++)
    worst = MAX (worst, fabs (c.y[i] - ref[i]));
  printf ("%s: forward max |Δ| vs direct loop %.2e\n", name, worst);
  expect (worst < 1e-4, "conv forward vs direct loop");

  float *dx = acc_array (nx), *dw = acc_array (nw), *db = acc_array (cout);
  conv_backward (dx, dw, db, c.dy, c.x, c.w, s, c.work);

  /* backward against the direct backward in double */
  double *rdx = g_new0 (double, nx), *rdw = g_new0 (double, nw), *rdb = g_new0 (double, cout);
  double *dyd = g_new (double, ny);
  for (size_t i = 0; i < ny; i++)
    dyd[i] = c.dy[i];
  naive_conv_backward (rdx, rdw, rdb, dyd, c.x, c.w, s);
  double wdx = 0, wdw = 0, wdb = 0;
  for (size_t i = 0; i < nx; i++)
    wdx = MAX (wdx, fabs (dx[i] - ACC - rdx[i]) / (1.0 + fabs (rdx[i])));
  for (size_t i = 0; i < nw; i++)
    wdw = MAX (wdw, fabs (dw[i] - ACC - rdw[i]) / (1.0 + fabs (rdw[i])));
  for (int i = 0; i < cout; i++)
    wdb = MAX (wdb, fabs (db[i] - ACC - rdb[i]) / (1.0 + fabs (rdb[i])));
  printf ("%s: backward vs direct loop: dx %.2e, dw %.2e, db %.2e (bound 1e-4)\n", name, wdx, wdw,
          wdb);
  expect (wdx < 1e-4 && wdw < 1e-4 && wdb < 1e-4, "conv backward vs direct loop");

  if (fd)
    {
      /* affine in every value, so any step is exact but for rounding, and a
       * large one divides the rounding of the objective by more: 1.0, as
       * the Winograd kernels' forward rounds ~6× more than a direct sum
       * (with 0.1 their finite differences were off by 2 % on 16 channels) */
      char nm[128];
      g_snprintf (nm, sizeof nm, "%s dx", name);
      check_fd (nm, c.x, nx, dx, conv_obj, &c, 1.0f, 1e-3, 1e-3, 600);
      g_snprintf (nm, sizeof nm, "%s dw", name);
      check_fd (nm, c.w, nw, dw, conv_obj, &c, 1.0f, 1e-3, 1e-3, 600);
      g_snprintf (nm, sizeof nm, "%s db", name);
      check_fd (nm, c.b, cout, db, conv_obj, &c, 1.0f, 1e-3, 1e-3, 0);
    }

  /* dx NULL: the weight gradients alone, same values */
  float *dw2 = acc_array (nw), *db2 = acc_array (cout);
  conv_backward (NULL, dw2, db2, c.dy, c.x, c.w, s, c.work);
  expect (memcmp (dw2, dw, sizeof (float) * nw) == 0 && memcmp (db2, db, sizeof (float) * cout) == 0,
          "conv backward with dx NULL");

  g_free (wt);
  g_free (c.x);
  g_free (c.w);
  g_free (c.b);
  g_free (c.y);
  g_free (c.dy);
  g_free (c.work);
  g_free (ref);
  g_free (dx);
  g_free (dw);
  g_free (db);
  g_free (dw2);
  g_free (db2);
  g_free (rdx);
  g_free (rdw);
  g_free (rdb);
  g_free (dyd);
}

static void
test_conv_weight_layout (void)
{
  const int cout = 4, cin = 3, k = 5;
  size_t n = (size_t) cout * cin * k * k;
  float *t = rand_array (n, 1.0), *e = g_new (float, n), *back = g_new (float, n);
  conv_weight_from_torch (e, t, cout, cin, k);
  for (int o = 0; o < cout; o++)
    for (int i = 0; i < cin; i++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          expect (e[((o * k + ky) * k + kx) * cin + i] == t[((o * cin + i) * k + ky) * k + kx],
                  "conv_weight_from_torch index mapping");
  conv_weight_to_torch (back, e, cout, cin, k);
  expect (memcmp (back, t, sizeof (float) * n) == 0, "conv weight torch round trip");
  g_free (t);
  g_free (e);
  g_free (back);
}

/* --- mixture --- */

typedef struct {
  float *x, *dec, *logp, *masks, *resp, *post, *loo;
  float *a, *b; /* upstream gradients of masks and post, [K·P, stride] */
  int K, P, stride;
  float scale;
  int mode; /* 0: NLL; 1: Σ a·masks + Σ b·post */
} MixCtx;

static double
mix_obj (void *p)
{
  MixCtx *c = p;
  double nll = mixture_forward (c->logp, c->masks, c->resp, c->post, c->loo, c->x, c->dec, c->K,
                                c->P, c->scale);
  if (c->mode == 0)
    return nll;
  double s = 0.0;
  for (int i = 0; i < c->K * c->P; i++)
    s += (double) c->a[(size_t) i * c->stride] * c->masks[i]
         + (double) c->b[(size_t) i * c->stride] * c->post[i];
  return s;
}

/* log of the logistic density, in double */
static double
log_logistic_d (double x, double mu, double s)
{
  double u = (x - mu) / s;
  return -u - log (s) - 2.0 * log1p (exp (-u));
}

static void
test_mixture (void)
{
  MixCtx c = { .K = 3, .P = 5, .stride = 3, .scale = 0.1f };
  const int K = c.K, P = c.P;
  const size_t KP = (size_t) K * P;
  c.x = g_new (float, (size_t) P * 3);
  for (int i = 0; i < P * 3; i++)
    c.x[i] = (float) iodine_rng_uniform (&rng);
  c.dec = g_new (float, KP * 4);
  for (size_t i = 0; i < KP; i++)
    {
      int p = (int) (i % P);
      c.dec[i * 4] = (float) iodine_rng_normal (&rng);
      for (int ch = 0; ch < 3; ch++)
        c.dec[i * 4 + 1 + ch] = c.x[p * 3 + ch] + (float) (0.15 * iodine_rng_normal (&rng));
    }
  c.logp = g_new (float, P);
  c.masks = g_new (float, KP);
  c.resp = g_new (float, KP);
  c.post = g_new (float, KP);
  c.loo = g_new (float, KP);
  double nll = mix_obj (&c);

  /* sums to 1 over slots; log p, the NLL and leave-one-out against a direct
   * computation in double */
  double worst_sum = 0.0, worst_lp = 0.0, worst_loo = 0.0, sum_lp = 0.0;
  for (int p = 0; p < P; p++)
    {
      double sm = 0, sr = 0, sp = 0;
      double lw[IODINE_MAX_SLOTS], ll[IODINE_MAX_SLOTS];
      for (int k = 0; k < K; k++)
        {
          size_t i = (size_t) k * P + p;
          sm += c.masks[i];
          sr += c.resp[i];
          sp += c.post[i];
          lw[k] = c.dec[i * 4];
          ll[k] = 0.0;
          for (int ch = 0; ch < 3; ch++)
            ll[k] += log_logistic_d (c.x[p * 3 + ch], c.dec[i * 4 + 1 + ch], c.scale);
        }
      worst_sum = MAX (worst_sum, MAX (fabs (sm - 1), MAX (fabs (sr - 1), fabs (sp - 1))));
      /* p(x) = Σ_k softmax(logits)_k · exp(ll_k); without k: renormalised over j ≠ k */
      double zall = 0, pall = 0, zpost = 0;
      for (int k = 0; k < K; k++)
        {
          zall += exp (lw[k]);
          pall += exp (lw[k] + ll[k]);
          zpost += exp (ll[k]);
        }
      double lp = log (pall / zall);
      sum_lp += lp;
      worst_lp = MAX (worst_lp, fabs (c.logp[p] - lp));
      for (int k = 0; k < K; k++)
        {
          size_t i = (size_t) k * P + p;
          double z = zall - exp (lw[k]), pk = pall - exp (lw[k] + ll[k]);
          double loo = lp - log (pk / z);
          worst_loo = MAX (worst_loo, fabs (c.loo[i] - loo));
          expect (fabs (c.masks[i] - exp (lw[k]) / zall) < 1e-6, "mixture masks");
          expect (fabs (c.resp[i] - exp (lw[k] + ll[k]) / pall) < 1e-5, "mixture resp");
          expect (fabs (c.post[i] - exp (ll[k]) / zpost) < 1e-5, "mixture post");
        }
    }
  printf ("mixture K=3: |Σ−1| %.2e, log p %.2e, NLL %.2e, leave-one-out %.2e (bounds 1e-5, "
          "1e-4, 1e-3, 1e-4)\n",
          worst_sum, worst_lp, fabs (nll + sum_lp), worst_loo);
  expect (worst_sum < 1e-5, "masks, resp and post sum to 1");
  expect (worst_lp < 1e-4, "mixture log p vs direct");
  expect (fabs (nll + sum_lp) < 1e-3, "mixture NLL = −Σ log p");
  expect (worst_loo < 1e-4, "leave-one-out vs direct");

  /* NULL loo is allowed and changes nothing else */
  float *masks2 = g_new (float, KP);
  memcpy (masks2, c.masks, sizeof (float) * KP);
  double nll2 = mixture_forward (c.logp, c.masks, c.resp, c.post, NULL, c.x, c.dec, K, P, c.scale);
  expect (nll2 == nll && memcmp (masks2, c.masks, sizeof (float) * KP) == 0,
          "mixture_forward with loo NULL");

  /* d(−Σ log p)/d(logit, means): gradients are O(1) for logits and up to
   * 1/s = 10 for means; h = 1e-3 ≪ s keeps the truncation error ~1e-5
   * relative; rounding of the NLL (~1e-6) / 2h adds ~1e-3 absolute */
  c.mode = 0;
  float *d = acc_array (KP * 4);
  mixture_loss_backward (d, c.x, c.dec, c.masks, c.resp, 1.0f, K, P, c.scale);
  check_fd ("mixture loss d(logit, mean)", c.dec, KP * 4, d, mix_obj, &c, 1e-3f, 2e-3, 3e-3, 0);
  /* the weight w scales the contribution */
  float *dw = acc_array (KP * 4);
  mix_obj (&c); /* masks and resp at the unperturbed point again */
  mixture_loss_backward (dw, c.x, c.dec, c.masks, c.resp, 0.5f, K, P, c.scale);
  double wworst = 0.0;
  for (size_t i = 0; i < KP * 4; i++)
    wworst = MAX (wworst, fabs ((dw[i] - ACC) - 0.5 * (d[i] - ACC)));
  printf ("mixture loss w = 0.5: max |Δ| %.2e (bound 1e-5)\n", wworst);
  expect (wworst < 1e-5, "mixture_loss_backward weight w");

  /* d(Σ a·masks + Σ b·post)/d(logit, mean), a and b read with stride 3 */
  c.mode = 1;
  float *grad_in = rand_array (KP * c.stride, 1.0);
  c.a = grad_in;
  c.b = grad_in + 1;
  float *di = acc_array (KP * 4);
  mix_obj (&c);
  mixture_inputs_backward (di, c.a, c.b, c.stride, c.x, c.dec, c.masks, c.post, K, P, c.scale);
  check_fd ("mixture inputs d(logit, mean)", c.dec, KP * 4, di, mix_obj, &c, 1e-3f, 2e-3, 1e-3,
            0);

  g_free (c.x);
  g_free (c.dec);
  g_free (c.logp);
  g_free (c.masks);
  g_free (c.resp);
  g_free (c.post);
  g_free (c.loo);
  g_free (masks2);
  g_free (d);
  g_free (dw);
  g_free (di);
  g_free (grad_in);
}

/* Far-off values: huge logits, means many scales away from the pixel, one
 * slot explaining nothing. Everything stays finite and normalised. */
static void
test_mixture_extreme (void)
{
  const int K = 3, P = 4;
  const float scale = 0.03f;
  float x[4 * 3] = { 0, 0, 0, 1, 1, 1, 0.5f, 0.2f, 0.9f, 1, 0, 1 };
  float dec[3 * 4 * 4];
  for (int k = 0; k < K; k++)
    for (int p = 0; p < P; p++)
      {
        float *o = dec + ((size_t) k * P + p) * 4;
        o[0] = k == 0 ? 80.0f : k == 1 ? -80.0f : 0.0f;
        for (int c = 0; c < 3; c++)
          o[1 + c] = x[p * 3 + c] + (k == 2 ? 0.0f : (p % 2 ? 4.0f : -4.0f));
      }
  float logp[4], masks[12], resp[12], post[12], loo[12];
  double nll = mixture_forward (logp, masks, resp, post, loo, x, dec, K, P, scale);
  gboolean ok = isfinite (nll);
  for (int p = 0; p < P; p++)
    {
      double sm = 0, sr = 0, sp = 0;
      ok = ok && isfinite (logp[p]);
      for (int k = 0; k < K; k++)
        {
          int i = k * P + p;
          ok = ok && isfinite (masks[i]) && isfinite (resp[i]) && isfinite (post[i])
               && isfinite (loo[i]);
          sm += masks[i];
          sr += resp[i];
          sp += post[i];
        }
      ok = ok && fabs (sm - 1) < 1e-5 && fabs (sr - 1) < 1e-5 && fabs (sp - 1) < 1e-5;
    }
  float d[48] = { 0 }, ga[36], di[48] = { 0 };
  for (int i = 0; i < 36; i++)
    ga[i] = (float) iodine_rng_normal (&rng);
  mixture_loss_backward (d, x, dec, masks, resp, 1.0f, K, P, scale);
  mixture_inputs_backward (di, ga, ga + 1, 3, x, dec, masks, post, K, P, scale);
  for (int i = 0; i < 48; i++)
    ok = ok && isfinite (d[i]) && isfinite (di[i]);
  printf ("mixture with extreme values: NLL %.1f, %s\n", nll, ok ? "finite and normalised" : "BROKEN");
  expect (ok, "mixture with extreme values");
}

int
main (void)
{
  iodine_rng_seed (&rng, 20190611);
  test_elu ();
  test_linear ();
  test_lstm_with (TRUE);
  test_lstm_with (FALSE);
  test_layernorm ();
  test_meanpool ();
  test_conv_weight_layout ();
  /* odd sizes, k 3 and 5, stride 1 and 2, every element by finite differences */
  test_conv (2, 5, 7, 3, 4, 3, 1, TRUE);
  test_conv (2, 5, 7, 3, 4, 3, 2, TRUE);
  test_conv (2, 5, 7, 3, 4, 5, 1, TRUE);
  test_conv (2, 5, 7, 3, 4, 5, 2, TRUE);
  /* several im2col tiles (2·17·19 = 646 > CONV_TILE_ROWS output rows) */
  test_conv (2, 17, 19, 3, 4, 3, 1, FALSE);
  test_conv (3, 33, 21, 2, 3, 5, 2, FALSE);
  /* images smaller than the kernel, and a single pixel */
  test_conv (1, 2, 3, 2, 3, 5, 2, TRUE);
  test_conv (2, 1, 1, 3, 2, 3, 1, TRUE);
  test_conv (1, 4, 1, 1, 1, 5, 2, TRUE);
  /* shapes the AVX-512 kernels take (16 and 32 channels; 600 sampled
   * elements where there are more): Winograd (k 5 and 3), then the direct
   * kernels with Winograd off */
  test_conv (2, 5, 7, 16, 16, 5, 1, TRUE);
  test_conv (1, 6, 9, 16, 32, 3, 1, TRUE);
  g_setenv ("IODINE_CONV_WINOGRAD", "0", TRUE);
  printf ("the same with IODINE_CONV_WINOGRAD=0:\n");
  test_conv (2, 5, 7, 16, 16, 5, 1, TRUE);
  test_conv (1, 6, 9, 16, 32, 3, 1, TRUE);
  g_unsetenv ("IODINE_CONV_WINOGRAD");
  test_mixture ();
  test_mixture_extreme ();
  if (failures)
    printf ("%d failures\n", failures);
  return failures ? 1 : 0;
}
