/* iodine-bench-conv: GFLOP/s of the convolution paths (im2col + sgemm, the
 * direct kernels of conv_direct.c (AVX-512 or AVX2), and the Winograd kernels of
 * conv_winograd.c where they run) on the engine's stride-1 shapes, measured
 * alternately in one process (best of several rounds), so their ratios
 * hold on a busy machine. GFLOP/s count the direct convolution's
 * multiply-adds (2·n·h·w·cin·cout·k²) for every path: for Winograd it is
 * the rate of equivalent work. Prints figures; asserts nothing.
 *
 *   iodine-bench-conv [--n N] [--rounds R] */
#include "conv.h"
#include "conv_direct.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

enum { FWD, BWD_DX, BWD_DW, N_OPS };
static const char *op_names[N_OPS] = { "forward", "backward dx", "backward dw+db" };

static void
run_op (int op, float *y, float *dx, float *dw, float *db, const float *x, const float *wt,
        const float *b, const ConvShape *s, float *work)
{
  switch (op)
    {
    case FWD:
      conv_forward (y, x, wt, b, s, work);
      break;
    case BWD_DX:
      conv_backward (dx, NULL, NULL, y, x, wt, s, work);
      break;
    default:
      conv_backward (NULL, dw, db, y, x, wt, s, work);
      break;
    }
}

static void
bench_shape (const char *name, int n, int h, int w, int cin, int cout, int k, int rounds)
{
  ConvShape s;
  conv_shape_init (&s, n, h, w, cin, cout, k, 1);
  size_t nx = (size_t) n * h * w * cin, ny = (size_t) n * h * w * cout;
  size_t nw = (size_t) cout * k * k * cin;
  IodineRng rng;
  iodine_rng_seed (&rng, 1);
  float *x = g_new (float, nx), *y = g_new (float, ny), *dx = g_new0 (float, nx);
  float *wt = g_new (float, nw), *dw = g_new0 (float, nw), *b = g_new0 (float, cout);
  float *db = g_new0 (float, cout), *work = g_new (float, conv_workspace_floats (&s));
  for (size_t i = 0; i < nx; i++)
    x[i] = (float) iodine_rng_normal (&rng);
  for (size_t i = 0; i < nw; i++)
    wt[i] = (float) iodine_rng_normal (&rng) * 0.05f;
  for (size_t i = 0; i < ny; i++)
    y[i] = (float) iodine_rng_normal (&rng);
  const double flops = 2.0 * n * h * w * cin * cout * k * k;
  printf ("%-28s n=%-3d %dx%d %2d→%-2d k%d:", name, n, h, w, cin, cout, k);
  for (int op = 0; op < N_OPS; op++)
    {
      double best[3] = { 1e30, 1e30, 1e30 };
      for (int r = 0; r < rounds; r++)
        for (int path = 0; path < 3; path++)
          {
            if (path == 0)
              g_setenv ("IODINE_CONV_GEMM", "1", TRUE);
            else
              g_unsetenv ("IODINE_CONV_GEMM");
            g_setenv ("IODINE_CONV_WINOGRAD", path == 2 ? "1" : "0", TRUE);
            run_op (op, y, dx, dw, db, x, wt, b, &s, work);
            double t0 = now ();
            run_op (op, y, dx, dw, db, x, wt, b, &s, work);
            best[path] = MIN (best[path], now () - t0);
          }
      printf ("  %s %.1f / %.1f / %.1f GF/s", op_names[op], flops / best[0] / 1e9,
              flops / best[1] / 1e9, flops / best[2] / 1e9);
    }
  printf ("\n");
  fflush (stdout);
  g_unsetenv ("IODINE_CONV_GEMM");
  g_unsetenv ("IODINE_CONV_WINOGRAD");
  g_free (x);
  g_free (y);
  g_free (dx);
  g_free (wt);
  g_free (dw);
  g_free (b);
  g_free (db);
  g_free (work);
}

int
main (int argc, char **argv)
{
  int n = 64, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (!strcmp (argv[i], "--n"))
        n = atoi (argv[i + 1]);
      else if (!strcmp (argv[i], "--rounds"))
        rounds = atoi (argv[i + 1]);
    }
  printf ("GEMM (IODINE_CONV_GEMM=1) / direct (IODINE_CONV_WINOGRAD=0) / default (Winograd where "
          "it runs), best of %d rounds, alternating\n", rounds);
  bench_shape ("tetrominoes decoder", n, 35, 35, 32, 32, 5, rounds);
  bench_shape ("tetrominoes head", n, 35, 35, 32, 4, 5, rounds);
  bench_shape ("multi-dsprites decoder", n / 4, 64, 64, 32, 32, 5, rounds);
  bench_shape ("clevr decoder (64 ch, k3)", n / 4, 64, 64, 64, 64, 3, rounds);
  return 0;
}
