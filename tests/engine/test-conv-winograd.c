/* The Winograd convolution (conv_winograd.c) against a double-precision
 * convolution, on every shape class it takes, with each copy of the kernels
 * this CPU runs (AVX-512, AVX2): k 3 and 5, one to four vectors of channels,
 * images from 1×1 (one tile, mostly padding) to 64×64 and sizes that leave
 * partial tiles and overlapping blocks; the forward pass with bias, with
 * fused ELU and accumulating, the input gradient accumulating and through
 * an ELU, the weight gradient accumulating. Errors are measured against the convolution of absolute values
 * (Σ |w|·|x| over the output's taps and channels), the scale float rounding
 * works on; the direct kernel's error on the same measure is printed beside
 * it. Also: the input gradient is the adjoint of the forward pass
 * (<conv x, dy> = <x, conv^T dy>), and results are bit for bit the same on
 * 1 and 3 threads. */
#include "conv.h"
#include "conv_winograd.h"
#include "layers.h"
#include "parallel.h"
#include "rng.h"
#include "simd-levels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static IodineRng rng;
static int failures, checks;
static double worst_wino, worst_direct;

/* Bound on |error| / (Σ |w|·|x|). F(4, 5)'s transforms amplify rounding
 * (interpolation points ±2 and ±1/2): measured here up to 2.4e-6 on full
 * images and 9e-6 on 1×1 images, where Σ|w||x| counts the centre tap only
 * but the rounding of the transformed weights mixes in all 25 (the direct
 * kernel: 3e-7). The limit leaves a margin of 2 over that without letting
 * a wrong tap or channel (an error of order 1) through. */
#define WINO_TOL 2e-5

static float *
rand_array (size_t n, double scale)
{
  float *a = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (scale * iodine_rng_normal (&rng));
  return a;
}

/* The convolution in double, and the convolution of absolute values:
 * y[p][o] = Σ w[o][t][i] x[p+t][i], a[p][o] = Σ |w| |x|; with transposed
 * set, the input gradient instead (a convolution from cout to cin with the
 * flipped weights). */
static void
reference (double *y, double *a, const float *x, const float *w, int n, int h, int wd, int cin,
           int cout, int k, gboolean transposed)
{
  const int p = k / 2;
  const int ci_n = transposed ? cout : cin, co_n = transposed ? cin : cout;
  for (int img = 0; img < n; img++)
    for (int oy = 0; oy < h; oy++)
      for (int ox = 0; ox < wd; ox++)
        for (int o = 0; o < co_n; o++)
          {
            double sum = 0, abs_sum = 0;
            for (int ky = 0; ky < k; ky++)
              for (int kx = 0; kx < k; kx++)
                {
                  const int iy = oy + ky - p, ix = ox + kx - p;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                    continue;
                  const float *xi = x + (((size_t) img * h + iy) * wd + ix) * ci_n;
                  for (int i = 0; i < ci_n; i++)
                    {
                      /* forward: w[o][ky][kx][i]; transposed: w[i][k-1-ky][k-1-kx][o] */
                      double wv = transposed
                                      ? w[(((size_t) i * k + (k - 1 - ky)) * k + (k - 1 - kx)) * co_n + o]
                                      : w[(((size_t) o * k + ky) * k + kx) * ci_n + i];
                      sum += wv * xi[i];
                      abs_sum += fabs (wv) * fabs (xi[i]);
                    }
                }
            const size_t at = (((size_t) img * h + oy) * wd + ox) * co_n + o;
            y[at] = sum;
            a[at] = abs_sum;
          }
}

/* The weight gradient in double, and of absolute values:
 * dw[o][t][i] = Σ_img,p dy[p][o] · x[p + t][i], a = Σ |dy| |x|. */
static void
reference_dw (double *dw, double *a, const float *x, const float *dy, int n, int h, int wd,
              int cin, int cout, int k)
{
  const int p = k / 2;
  for (int o = 0; o < cout; o++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++)
        for (int i = 0; i < cin; i++)
          {
            double sum = 0, abs_sum = 0;
            for (int img = 0; img < n; img++)
              for (int oy = 0; oy < h; oy++)
                for (int ox = 0; ox < wd; ox++)
                  {
                    const int iy = oy + ky - p, ix = ox + kx - p;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                      continue;
                    double g = dy[(((size_t) img * h + oy) * wd + ox) * cout + o];
                    double v = x[(((size_t) img * h + iy) * wd + ix) * cin + i];
                    sum += g * v;
                    abs_sum += fabs (g) * fabs (v);
                  }
            const size_t at = (((size_t) o * k + ky) * k + kx) * cin + i;
            dw[at] = sum;
            a[at] = abs_sum;
          }
}

static double
elu_d (double v)
{
  return v > 0 ? v : expm1 (v);
}

/* worst |got − want| / (scale + 1e-30) over n values; a failure past tol */
static double
compare (const char *what, const char *path, const int *shape, const float *got,
         const double *want, const double *scale, size_t n, double tol)
{
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    {
      double e = fabs (got[i] - want[i]) / (scale[i] + 1e-30);
      if (!(e <= worst))
        worst = isnan (e) ? INFINITY : e;
    }
  checks++;
  if (!(worst <= tol))
    {
      failures++;
      fprintf (stderr, "FAIL %s (%s) n=%d %dx%d cin=%d cout=%d k=%d: error %.3g of Σ|w||x| (limit %.3g)\n",
               what, path, shape[0], shape[1], shape[2], shape[3], shape[4], shape[5], worst, tol);
    }
  return worst;
}

static void
check_shape (int n, int h, int wd, int cin, int cout, int k)
{
  ConvShape s;
  conv_shape_init (&s, n, h, wd, cin, cout, k, 1);
  const int shape[6] = { n, h, wd, cin, cout, k };
  if (!conv_winograd_available (&s) || !conv_winograd_backward_input_available (&s)
      || !conv_winograd_backward_weights_available (&s))
    {
      fprintf (stderr, "FAIL the Winograd kernels do not take n=%d %dx%d cin=%d cout=%d k=%d\n", n, h,
               wd, cin, cout, k);
      failures++;
      return;
    }
  const size_t nx = (size_t) n * h * wd * cin, ny = (size_t) n * h * wd * cout;
  const size_t nw = (size_t) cout * k * k * cin;
  float *x = rand_array (nx, 1.0), *w = rand_array (nw, 1.0 / sqrt (k * k * cin));
  float *b = rand_array (cout, 0.5), *dy = rand_array (ny, 1.0), *y0 = rand_array (ny, 1.0);
  float *dx0 = rand_array (nx, 1.0);
  float *work = g_new (float, conv_workspace_floats (&s));
  double *yr = g_new (double, ny), *ya = g_new (double, ny);
  double *dxr = g_new (double, nx), *dxa = g_new (double, nx);
  double *want_y = g_new (double, ny), *want_x = g_new (double, nx);
  double *scale_y = g_new (double, ny), *scale_x = g_new (double, nx);
  reference (yr, ya, x, w, n, h, wd, cin, cout, k, FALSE);
  reference (dxr, dxa, dy, w, n, h, wd, cin, cout, k, TRUE);
  float *y = g_new (float, ny), *dx = g_new (float, nx);
  float *dw0 = rand_array (nw, 1.0), *dw = g_new (float, nw);
  double *dwr = g_new (double, nw), *dwa = g_new (double, nw);
  double *want_w = g_new (double, nw), *scale_w = g_new (double, nw);
  reference_dw (dwr, dwa, x, dy, n, h, wd, cin, cout, k);
  /* The weight gradient of a tap is a sum of transformed products that
   * involve every tap of its channel pair, and taps that only read padding
   * (their Σ|dy||x| is 0) get their value from a cancellation among them:
   * so the scale of each tap is the largest Σ|dy||x| of its channel pair. */
  for (int o = 0; o < cout; o++)
    for (int i = 0; i < cin; i++)
      {
        double m = 0;
        for (int t = 0; t < k * k; t++)
          m = fmax (m, dwa[((size_t) o * k * k + t) * cin + i]);
        for (int t = 0; t < k * k; t++)
          {
            const size_t at = ((size_t) o * k * k + t) * cin + i;
            want_w[at] = dw0[at] + dwr[at], scale_w[at] = m + fabs (dw0[at]);
          }
      }

  for (int path = 0; path < 2; path++)
    {
      const char *name = path ? "winograd" : "direct";
      const double tol = path ? WINO_TOL : 1e-5;
      double *worst = path ? &worst_wino : &worst_direct;
      g_setenv ("IODINE_CONV_WINOGRAD", path ? "1" : "0", TRUE);

      /* y = conv + b */
      conv_forward (y, x, w, b, &s, work);
      for (size_t i = 0; i < ny; i++)
        want_y[i] = yr[i] + b[i % cout], scale_y[i] = ya[i] + fabs (b[i % cout]);
      *worst = fmax (*worst, compare ("forward", name, shape, y, want_y, scale_y, ny, tol));

      /* y = ELU (conv + b): ELU is 1-Lipschitz, so the same bound holds */
      conv_forward_elu (y, x, w, b, &s, work);
      for (size_t i = 0; i < ny; i++)
        want_y[i] = elu_d (yr[i] + b[i % cout]);
      *worst = fmax (*worst, compare ("forward ELU", name, shape, y, want_y, scale_y, ny, tol));

      /* y += conv (the accumulating epilogue: overlapping blocks add once) */
      if (path)
        {
          memcpy (y, y0, sizeof (float) * ny);
          conv_winograd_forward (y, x, w, NULL, &s, work, CONV_EPI_ACCUMULATE);
          for (size_t i = 0; i < ny; i++)
            want_y[i] = y0[i] + yr[i], scale_y[i] = ya[i] + fabs (y0[i]);
          *worst = fmax (*worst, compare ("forward accumulate", name, shape, y, want_y, scale_y, ny,
                                          tol));
        }

      /* dx += conv^T dy */
      memcpy (dx, dx0, sizeof (float) * nx);
      conv_backward (dx, NULL, NULL, dy, x, w, &s, work);
      for (size_t i = 0; i < nx; i++)
        want_x[i] = dx0[i] + dxr[i], scale_x[i] = dxa[i] + fabs (dx0[i]);
      *worst = fmax (*worst, compare ("dx", name, shape, dx, want_x, scale_x, nx, tol));

      /* dw += the weight gradient (the direct kernel needs cin a multiple of 16, as here) */
      memcpy (dw, dw0, sizeof (float) * nw);
      conv_backward (NULL, dw, NULL, dy, x, w, &s, work);
      *worst = fmax (*worst, compare ("dw", name, shape, dw, want_w, scale_w, nw, tol));

      /* dx = (conv^T dy) · ELU'(a) for x = a an ELU output: overwritten;
       * ELU' ≤ 1, so the bound on the sum bounds the product */
      float *a = g_memdup2 (x, sizeof (float) * nx);
      elu_forward (a, a, nx);
      memcpy (dx, dx0, sizeof (float) * nx);
      conv_backward_elu (dx, NULL, NULL, dy, a, w, &s, work);
      for (size_t i = 0; i < nx; i++)
        want_x[i] = dxr[i] * (a[i] > 0 ? 1.0 : a[i] + 1.0), scale_x[i] = dxa[i];
      *worst = fmax (*worst, compare ("dx through ELU", name, shape, dx, want_x, scale_x, nx, tol));
      g_free (a);
    }

  /* adjoint: <conv (x), dy> = <x, conv^T (dy)>, both from the Winograd path */
  {
    float *zero = g_new0 (float, cout);
    conv_forward (y, x, w, zero, &s, work);
    memset (dx, 0, sizeof (float) * nx);
    conv_backward (dx, NULL, NULL, dy, x, w, &s, work);
    double lhs = 0, rhs = 0, mag = 0;
    for (size_t i = 0; i < ny; i++)
      lhs += (double) y[i] * dy[i], mag += ya[i] * fabs (dy[i]);
    for (size_t i = 0; i < nx; i++)
      rhs += (double) x[i] * dx[i];
    checks++;
    if (!(fabs (lhs - rhs) <= 2 * WINO_TOL * mag))
      {
        failures++;
        fprintf (stderr, "FAIL adjoint n=%d %dx%d cin=%d cout=%d k=%d: %.9g vs %.9g\n", n, h, wd,
                 cin, cout, k, lhs, rhs);
      }
    g_free (zero);
  }

  /* 1 and 3 threads: bit for bit */
  {
    float *y1 = g_new (float, ny), *dx1 = g_new0 (float, nx), *dw1 = g_new0 (float, nw);
    iodine_parallel_set_threads (1);
    conv_forward_elu (y1, x, w, b, &s, work);
    conv_backward (dx1, dw1, NULL, dy, x, w, &s, work);
    iodine_parallel_set_threads (3);
    conv_forward_elu (y, x, w, b, &s, work);
    memset (dx, 0, sizeof (float) * nx);
    memset (dw, 0, sizeof (float) * nw);
    conv_backward (dx, dw, NULL, dy, x, w, &s, work);
    iodine_parallel_set_threads (1);
    checks++;
    if (memcmp (y, y1, sizeof (float) * ny) || memcmp (dx, dx1, sizeof (float) * nx)
        || memcmp (dw, dw1, sizeof (float) * nw))
      {
        failures++;
        fprintf (stderr, "FAIL 1 and 3 threads differ: n=%d %dx%d cin=%d cout=%d k=%d\n", n, h, wd,
                 cin, cout, k);
      }
    g_free (y1);
    g_free (dx1);
    g_free (dw1);
  }

  g_free (x);
  g_free (w);
  g_free (b);
  g_free (dy);
  g_free (y0);
  g_free (dx0);
  g_free (work);
  g_free (yr);
  g_free (ya);
  g_free (dxr);
  g_free (dxa);
  g_free (want_y);
  g_free (want_x);
  g_free (scale_y);
  g_free (scale_x);
  g_free (y);
  g_free (dx);
  g_free (dw0);
  g_free (dw);
  g_free (dwr);
  g_free (dwa);
  g_free (want_w);
  g_free (scale_w);
}

/* Every shape class, on one copy of the kernels; v is its vector width (the
 * channel counts are multiples of it, up to four vectors). */
static void
check_all (int v)
{
  static const int sizes[][2] = { { 1, 1 }, { 2, 3 }, { 4, 4 }, { 5, 7 },
                                  { 9, 6 }, { 13, 11 }, { 17, 40 } };
  /* in vectors: 16/16, 32/32, 48/16, 16/64, 64/48 channels on AVX-512 */
  static const int chans[][2] = { { 1, 1 }, { 2, 2 }, { 3, 1 }, { 1, 4 }, { 4, 3 } };
  static const int kernels[] = { 3, 5 };
  int c = 0;
  for (size_t si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (size_t ci = 0; ci < G_N_ELEMENTS (chans); ci++)
      for (size_t ki = 0; ki < G_N_ELEMENTS (kernels); ki++, c++)
        check_shape (1 + c % 3, sizes[si][0], sizes[si][1], v * chans[ci][0], v * chans[ci][1],
                     kernels[ki]);
  /* the engine's own shapes: tetrominoes and multi-dsprites decoders, clevr
   * (64 channels: AVX-512 only) */
  check_shape (2, 35, 35, 32, 32, 5);
  check_shape (1, 64, 64, 32, 32, 5);
  if (v == 16)
    check_shape (1, 32, 32, 64, 64, 3);
}

int
main (void)
{
  g_unsetenv ("IODINE_CONV_GEMM");
  g_unsetenv ("IODINE_CONV_WINOGRAD");
  iodine_rng_seed (&rng, 11);
  const int ran = for_each_simd_level (check_all, &failures);
  if (!ran)
    {
      printf ("SKIP: neither AVX-512 nor AVX2 (the Winograd convolution is not used on this CPU)\n");
      return 77;
    }
  printf ("%d checks, worst error of Σ|w||x|: winograd %.3g, direct %.3g (limit %.3g); %d failures\n",
          checks, worst_wino, worst_direct, WINO_TOL, failures);
  return failures ? 1 : 0;
}
