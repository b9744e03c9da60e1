/* The decoder's first layer (conv_broadcast.c: the latent tiled over the
 * image plus two coordinate channels) against the plain convolution of the
 * explicitly tiled input on the im2col + sgemm path: outputs, ∂/∂z (the
 * input gradient summed over all positions), ∂/∂w and ∂/∂b, on images
 * smaller than the kernel, border-only and large ones, k 1, 3 and 5. */
#include "conv.h"
#include "conv_broadcast.h"
#include "rng.h"

#include <glib.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static IodineRng rng;
static int failures, checks;
static double worst;

static float *
rand_array (size_t n)
{
  float *a = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    a[i] = (float) iodine_rng_normal (&rng);
  return a;
}

static void
compare (const char *what, const ConvShape *s, const float *got, const float *want, size_t n)
{
  double scale = 0, diff = 0;
  for (size_t i = 0; i < n; i++)
    {
      scale = fmax (scale, fabs (want[i]));
      double d = fabs ((double) got[i] - want[i]);
      diff = isnan (d) ? INFINITY : fmax (diff, d);
    }
  double rel = diff / fmax (scale, 1e-30);
  worst = fmax (worst, rel);
  checks++;
  if (!(rel <= 1e-5))
    {
      failures++;
      fprintf (stderr, "FAIL %s n=%d %dx%d M=%d cout=%d k=%d: max diff %.3g of %.3g\n", what,
               s->n, s->h, s->w, s->cin - 2, s->cout, s->k, diff, scale);
    }
}

static void
check_shape (int n, int h, int w, int M, int cout, int k)
{
  ConvShape s;
  conv_shape_init (&s, n, h, w, M + 2, cout, k, 1);
  const size_t P = (size_t) h * w, nw = (size_t) cout * k * k * (M + 2);
  float *z = rand_array ((size_t) n * M), *coords = rand_array (P * 2);
  float *wt = rand_array (nw), *b = rand_array (cout), *dy = rand_array (n * P * cout);
  float *dw0 = rand_array (nw), *db0 = rand_array (cout);
  /* the tiled input [n, h, w, M + 2] */
  float *x = g_new (float, n * P * (M + 2));
  for (int i = 0; i < n; i++)
    for (size_t p = 0; p < P; p++)
      {
        float *xp = x + (i * P + p) * (M + 2);
        memcpy (xp, z + (size_t) i * M, sizeof (float) * M);
        xp[M] = coords[p * 2];
        xp[M + 1] = coords[p * 2 + 1];
      }
  float *y_ref = g_new (float, n * P * cout), *y = g_new (float, n * P * cout);
  float *dx = g_new0 (float, n * P * (M + 2)), *dz_ref = g_new0 (float, (size_t) n * M);
  float *dz = g_new (float, (size_t) n * M);
  float *dw_ref = g_memdup2 (dw0, sizeof (float) * nw), *dw = g_memdup2 (dw0, sizeof (float) * nw);
  float *db_ref = g_memdup2 (db0, sizeof (float) * cout), *db = g_memdup2 (db0, sizeof (float) * cout);
  float *work = g_new (float, MAX (conv_workspace_floats (&s), conv_broadcast_workspace_floats (&s)));

  g_setenv ("IODINE_CONV_GEMM", "1", TRUE);
  conv_forward (y_ref, x, wt, b, &s, work);
  conv_backward (dx, dw_ref, db_ref, dy, x, wt, &s, work);
  g_unsetenv ("IODINE_CONV_GEMM");
  for (int i = 0; i < n; i++)
    for (size_t p = 0; p < P; p++)
      for (int m = 0; m < M; m++)
        dz_ref[(size_t) i * M + m] += dx[(i * P + p) * (M + 2) + m];

  conv_broadcast_forward (y, z, coords, wt, b, &s, work);
  memset (dz, 0xff, sizeof (float) * n * M); /* NaNs: dz must be overwritten */
  conv_broadcast_backward (dz, dw, db, dy, z, coords, wt, &s, work);
  compare ("forward", &s, y, y_ref, n * P * cout);
  compare ("dz", &s, dz, dz_ref, (size_t) n * M);
  compare ("dw", &s, dw, dw_ref, nw);
  compare ("db", &s, db, db_ref, cout);

  g_free (z);
  g_free (coords);
  g_free (wt);
  g_free (b);
  g_free (dy);
  g_free (dw0);
  g_free (db0);
  g_free (x);
  g_free (y_ref);
  g_free (y);
  g_free (dx);
  g_free (dz_ref);
  g_free (dz);
  g_free (dw_ref);
  g_free (dw);
  g_free (db_ref);
  g_free (db);
  g_free (work);
}

int
main (void)
{
  iodine_rng_seed (&rng, 5);
  static const int sizes[][2] = { { 1, 1 }, { 2, 3 }, { 5, 4 }, { 6, 7 }, { 9, 40 }, { 35, 35 } };
  static const int Ms[] = { 3, 16 };
  static const int couts[] = { 4, 32 };
  static const int kernels[] = { 1, 3, 5 };
  int c = 0;
  for (size_t si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (size_t mi = 0; mi < G_N_ELEMENTS (Ms); mi++)
      for (size_t ci = 0; ci < G_N_ELEMENTS (couts); ci++)
        for (size_t ki = 0; ki < G_N_ELEMENTS (kernels); ki++, c++)
          check_shape (1 + c % 3, sizes[si][0], sizes[si][1], Ms[mi], couts[ci], kernels[ki]);
  check_shape (4, 64, 64, 32, 32, 5);
  printf ("%d checks, worst relative difference %.3g, %d failures\n", checks, worst, failures);
  return failures ? 1 : 0;
}
