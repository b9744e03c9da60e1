/* The direct convolution (conv_direct.c), each copy of it this CPU runs
 * (AVX-512, AVX2: simd.h), against the im2col + sgemm
 * path of conv.c (forced with IODINE_CONV_GEMM) on many shapes: batch 1–3,
 * images smaller than, equal to and larger than the kernel, odd and even
 * sizes, 4/8/16/32/64 input and output channels, kernels 1, 3 and 5, stride 1
 * and 2 (stride 2 always takes the GEMM path). Forward, accumulating
 * forward, and every backward output (dx and dw accumulate onto random
 * values, db too), and the fused ELU forward and backward against separate
 * ELU passes, must agree within float rounding: the largest difference
 * is at most 1e-5 of the largest reference value of the array. The direct
 * kernels' results must also be bit-identical with 1 and 3 threads (the
 * OpenBLAS thread count, which they follow). Skipped (77) on
 * CPUs without AVX2. */
#include "conv.h"
#include "conv_direct.h"
#include "iodine.h"
#include "layers.h"
#include "rng.h"
#include "simd-levels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static IodineRng rng;
static int failures, checks;
static double worst;

static float *
rand_array (size_t n, double sigma)
{
  float *a = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (sigma * iodine_rng_normal (&rng));
  return a;
}

static float *
dup_array (const float *a, size_t n)
{
  return g_memdup2 (a, sizeof (float) * n);
}

static void
compare (const char *what, const ConvShape *s, const float *got, const float *ref, size_t n)
{
  double scale = 0, diff = 0;
  for (size_t i = 0; i < n; i++)
    {
      scale = fmax (scale, fabs (ref[i]));
      double d = fabs ((double) got[i] - ref[i]);
      if (!(d <= diff))
        diff = isnan (d) ? INFINITY : d;
    }
  double rel = diff / fmax (scale, 1e-30);
  worst = fmax (worst, rel);
  checks++;
  if (!(rel <= 1e-5))
    {
      failures++;
      fprintf (stderr,
               "FAIL %s n=%d %dx%d cin=%d cout=%d k=%d stride=%d: max diff %.3g of %.3g (%.3g)\n",
               what, s->n, s->h, s->w, s->cin, s->cout, s->k, s->stride, diff, scale, rel);
    }
}

static void
check_shape (int n, int h, int w, int cin, int cout, int k, int stride)
{
  ConvShape s;
  conv_shape_init (&s, n, h, w, cin, cout, k, stride);
  const size_t nx = (size_t) n * h * w * cin, ny = (size_t) n * s.ho * s.wo * cout;
  const size_t nw = (size_t) cout * k * k * cin;
  float *x = rand_array (nx, 1.0), *wt = rand_array (nw, 0.2), *b = rand_array (cout, 0.5);
  float *dy = rand_array (ny, 1.0), *y0 = rand_array (ny, 1.0);
  float *dx0 = rand_array (nx, 1.0), *dw0 = rand_array (nw, 1.0), *db0 = rand_array (cout, 1.0);
  float *work = g_new (float, conv_workspace_floats (&s));
  float *y[2], *dx[2], *dw[2], *db[2], *ya[2];
  for (int path = 0; path < 2; path++)
    {
      /* path 0: GEMM (reference), path 1: direct where available */
      if (path == 0)
        g_setenv ("IODINE_CONV_GEMM", "1", TRUE);
      else
        g_unsetenv ("IODINE_CONV_GEMM");
      y[path] = g_new (float, ny);
      conv_forward (y[path], x, wt, b, &s, work);
      dx[path] = dup_array (dx0, nx);
      dw[path] = dup_array (dw0, nw);
      db[path] = dup_array (db0, cout);
      conv_backward (dx[path], dw[path], db[path], dy, x, wt, &s, work);
      /* y0 + conv (x, w): the accumulating forward */
      ya[path] = dup_array (y0, ny);
      if (path == 1 && conv_direct_available (&s))
        conv_direct_forward (ya[path], x, wt, NULL, &s, work, CONV_EPI_ACCUMULATE);
      else
        {
          float *zero = g_new0 (float, cout), *t = g_new (float, ny);
          conv_forward (t, x, wt, zero, &s, work);
          for (size_t i = 0; i < ny; i++)
            ya[path][i] += t[i];
          g_free (zero);
          g_free (t);
        }
    }
  /* the direct path again on 3 threads: bit for bit the same */
  {
    iodine_blas_set_threads (3);
    float *yt = g_new (float, ny), *dxt = dup_array (dx0, nx), *dwt = dup_array (dw0, nw);
    float *dbt = dup_array (db0, cout);
    conv_forward (yt, x, wt, b, &s, work);
    conv_backward (dxt, dwt, dbt, dy, x, wt, &s, work);
    checks++;
    /* only what the direct kernels computed: OpenBLAS's own results may
     * depend on its thread count */
    if ((conv_direct_available (&s) && memcmp (yt, y[1], sizeof (float) * ny))
        || (conv_direct_backward_input_available (&s) && memcmp (dxt, dx[1], sizeof (float) * nx))
        || (conv_direct_backward_weights_available (&s)
            && memcmp (dwt, dw[1], sizeof (float) * nw)))
      {
        failures++;
        fprintf (stderr, "FAIL 3 threads differ: n=%d %dx%d cin=%d cout=%d k=%d\n", n, h, w, cin,
                 cout, k);
      }
    iodine_blas_set_threads (1);
    g_free (yt);
    g_free (dxt);
    g_free (dwt);
    g_free (dbt);
  }
  compare ("forward", &s, y[1], y[0], ny);
  compare ("forward accumulate", &s, ya[1], ya[0], ny);
  compare ("dx", &s, dx[1], dx[0], nx);
  compare ("dw", &s, dw[1], dw[0], nw);
  compare ("db", &s, db[1], db[0], cout);
  /* the fused ELU layers against the separate passes on the GEMM path:
   * y = ELU (conv (x) + b); and, for x an ELU output, dx = (input gradient) ·
   * ELU' (overwritten, not accumulated) */
  {
    float *xe = dup_array (x, nx), *ye[2], *dxe[2], *dwe[2], *dbe[2];
    elu_forward (xe, xe, nx);
    for (int path = 0; path < 2; path++)
      {
        if (path == 0)
          g_setenv ("IODINE_CONV_GEMM", "1", TRUE);
        else
          g_unsetenv ("IODINE_CONV_GEMM");
        ye[path] = g_new (float, ny);
        dxe[path] = dup_array (dx0, nx); /* garbage the call must overwrite */
        dwe[path] = dup_array (dw0, nw);
        dbe[path] = dup_array (db0, cout);
        if (path == 0)
          {
            conv_forward (ye[0], x, wt, b, &s, work);
            elu_forward (ye[0], ye[0], ny);
            float *d = g_new0 (float, nx);
            conv_backward (d, dwe[0], dbe[0], dy, xe, wt, &s, work);
            memset (dxe[0], 0, sizeof (float) * nx);
            elu_backward (dxe[0], d, xe, nx);
            g_free (d);
          }
        else
          {
            conv_forward_elu (ye[1], x, wt, b, &s, work);
            conv_backward_elu (dxe[1], dwe[1], dbe[1], dy, xe, wt, &s, work);
          }
      }
    compare ("forward ELU", &s, ye[1], ye[0], ny);
    compare ("dx through ELU", &s, dxe[1], dxe[0], nx);
    compare ("dw (ELU input)", &s, dwe[1], dwe[0], nw);
    compare ("db (ELU input)", &s, dbe[1], dbe[0], cout);
    for (int path = 0; path < 2; path++)
      {
        g_free (ye[path]);
        g_free (dxe[path]);
        g_free (dwe[path]);
        g_free (dbe[path]);
      }
    g_free (xe);
  }
  /* dx without dw and db (the first layer's call shape) */
  float *dxo = dup_array (dx0, nx);
  conv_backward (dxo, NULL, NULL, dy, x, wt, &s, work);
  compare ("dx alone", &s, dxo, dx[0], nx);
  g_free (dxo);
  for (int path = 0; path < 2; path++)
    {
      g_free (y[path]);
      g_free (dx[path]);
      g_free (dw[path]);
      g_free (db[path]);
      g_free (ya[path]);
    }
  g_free (x);
  g_free (wt);
  g_free (b);
  g_free (dy);
  g_free (y0);
  g_free (dx0);
  g_free (dw0);
  g_free (db0);
  g_free (work);
}

/* Every shape class, on one copy of the kernels. */
static void
check_all (int width)
{
  (void) width;
  ConvShape probe;
  conv_shape_init (&probe, 1, 8, 8, 32, 32, 5, 1);
  if (!conv_direct_available (&probe) || !conv_direct_backward_input_available (&probe)
      || !conv_direct_backward_weights_available (&probe))
    {
      failures++;
      fprintf (stderr, "FAIL the direct kernels do not take 32 → 32 channels, k 5\n");
    }
  static const int sizes[][2] = { { 1, 1 }, { 2, 3 }, { 4, 4 }, { 5, 7 },
                                  { 8, 6 }, { 13, 11 }, { 17, 16 } };
  static const int chans[] = { 4, 8, 16, 32, 64 };
  static const int kernels[] = { 1, 3, 5 };
  int c = 0;
  for (size_t si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (size_t a = 0; a < G_N_ELEMENTS (chans); a++)
      for (size_t o = 0; o < G_N_ELEMENTS (chans); o++)
        for (size_t ki = 0; ki < G_N_ELEMENTS (kernels); ki++, c++)
          check_shape (1 + c % 3, sizes[si][0], sizes[si][1], chans[a], chans[o], kernels[ki],
                       1);
  /* the engine's own shapes: tetrominoes 35×35 (k 5, 32 channels, the 4-channel head),
   * clevr-like 64 channels k 3, and stride 2 (GEMM either way) */
  check_shape (2, 35, 35, 32, 32, 5, 1);
  check_shape (2, 35, 35, 32, 4, 5, 1);
  check_shape (1, 35, 35, 4, 32, 5, 1);
  check_shape (1, 24, 24, 64, 64, 3, 1);
  check_shape (2, 9, 9, 32, 32, 5, 2);
  check_shape (2, 35, 35, 7, 32, 5, 2);
}

int
main (void)
{
  g_unsetenv ("IODINE_CONV_GEMM");
  /* the direct kernels, not the Winograd ones that take some of these
   * shapes by default (test-conv-winograd) */
  g_setenv ("IODINE_CONV_WINOGRAD", "0", TRUE);
  iodine_rng_seed (&rng, 7);
  iodine_blas_set_threads (1);
  const int ran = for_each_simd_level (check_all, &failures);
  if (!ran)
    {
      printf ("SKIP: neither AVX-512 nor AVX2 (the direct convolution is not used on this CPU)\n");
      return 77;
    }
  printf ("%d checks, worst relative difference %.3g, %d failures\n", checks, worst, failures);
  return failures ? 1 : 0;
}
