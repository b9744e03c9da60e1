/* iodine-bench: the engine's speed and memory on this machine, against
 * sgemm measured in the same run and against the PyTorch reference of the
 * spec (tests/reference/bench_ref.py) run on the same work and the same
 * number of threads when /usr/bin/python3 has torch. Prints figures; asserts
 * nothing.
 *
 *   iodine-bench [--threads N] [--batch B] [--reps N] [--no-torch] [CONFIG…] */
#include "conv.h"
#include "iodine-config.h"
#include "iodine.h"
#include "model_private.h"
#include "rng.h"
#include "train.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* OpenBLAS's own call (cblas.h of Debian's OpenBLAS declares it; the
 * reference CBLAS does not) */
void openblas_set_num_threads (int num_threads);

static double
sgemm_gflops (int m, int n, int k, int reps)
{
  float *a = g_new (float, (size_t) m * k), *b = g_new (float, (size_t) k * n);
  float *c = g_new0 (float, (size_t) m * n);
  for (size_t i = 0; i < (size_t) m * k; i++)
    a[i] = (float) (i % 7) * 0.1f;
  for (size_t i = 0; i < (size_t) k * n; i++)
    b[i] = (float) (i % 5) * 0.1f;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
  double t0 = now ();
  for (int r = 0; r < reps; r++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
  double dt = (now () - t0) / reps;
  g_free (a);
  g_free (b);
  g_free (c);
  return 2.0 * m * n * k / dt / 1e9;
}

/* GFLOP/s of one decoder conv layer (C → C, k×k) over n slot images,
 * forward and backward (dW + dX). */
static void
conv_gflops (int n, int h, int w, int c, int k, int reps, double *fwd, double *bwd)
{
  ConvShape s;
  conv_shape_init (&s, n, h, w, c, c, k, 1);
  size_t nx = (size_t) n * h * w * c;
  float *x = g_new (float, nx), *y = g_new (float, nx), *dx = g_new0 (float, nx);
  float *wt = g_new (float, (size_t) c * c * k * k), *dw = g_new0 (float, (size_t) c * c * k * k);
  float *b = g_new0 (float, c), *db = g_new0 (float, c);
  float *work = g_new (float, conv_workspace_floats (&s));
  IodineRng rng;
  iodine_rng_seed (&rng, 1);
  for (size_t i = 0; i < nx; i++)
    x[i] = (float) iodine_rng_normal (&rng);
  for (size_t i = 0; i < (size_t) c * c * k * k; i++)
    wt[i] = (float) iodine_rng_normal (&rng) * 0.05f;
  double flops = 2.0 * nx * c * k * k;
  conv_forward (y, x, wt, b, &s, work);
  double t0 = now ();
  for (int r = 0; r < reps; r++)
    conv_forward (y, x, wt, b, &s, work);
  *fwd = flops * reps / (now () - t0) / 1e9;
  /* once untimed, as the forward: the first call faults in its workspace */
  conv_backward (dx, dw, db, y, x, wt, &s, work);
  t0 = now ();
  for (int r = 0; r < reps; r++)
    conv_backward (dx, dw, db, y, x, wt, &s, work);
  *bwd = 2 * flops * reps / (now () - t0) / 1e9;
  g_free (x);
  g_free (y);
  g_free (dx);
  g_free (wt);
  g_free (dw);
  g_free (b);
  g_free (db);
  g_free (work);
}

/* Runs bench_ref.py; returns FALSE if torch is not there. */
static gboolean
torch_figures (const char *config, int threads, int batch, int reps, double *infer, double *ips)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  const char *src = g_getenv ("IODINE_SOURCE_DIR");
  char *script = g_build_filename (src ? src : IODINE_SOURCE_DIR, "tests", "reference",
                                   "bench_ref.py", NULL);
  char *cmd = g_strdup_printf ("/usr/bin/python3 %s %s --threads %d --batch %d --reps %d",
                               script, config, threads, batch, reps);
  char *out = NULL;
  int status = 0;
  gboolean ok = g_spawn_command_line_sync (cmd, &out, NULL, &status, NULL) && status == 0 && out;
  if (ok)
    {
      const char *a = strstr (out, "\"inference_seconds_per_image\"");
      const char *b = strstr (out, "\"train_images_per_second\"");
      ok = a && b;
      if (ok)
        {
          *infer = g_ascii_strtod (strchr (a, ':') + 1, NULL);
          *ips = g_ascii_strtod (strchr (b, ':') + 1, NULL);
        }
    }
  g_free (out);
  g_free (cmd);
  g_free (script);
  return ok;
}

static void
bench_config (const char *name, int threads, int batch, int reps, gboolean with_torch)
{
  IodineConfig cfg;
  GError *error = NULL;
  if (!iodine_config_preset (name, &cfg, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      g_error_free (error);
      return;
    }
  IodineModel *m = iodine_model_new_random (&cfg, 1, &error);
  g_assert_no_error (error);
  const size_t P = (size_t) cfg.height * cfg.width;
  float *image = g_new (float, P * 3 * batch);
  IodineRng rng;
  iodine_rng_seed (&rng, 2);
  for (size_t i = 0; i < P * 3 * batch; i++)
    image[i] = (float) iodine_rng_uniform (&rng);

  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.deterministic = TRUE;
  iodine_result_free (iodine_decompose (m, image, cfg.height, cfg.width, &opt, NULL));
  double t0 = now ();
  for (int r = 0; r < reps; r++)
    iodine_result_free (iodine_decompose (m, image, cfg.height, cfg.width, &opt, NULL));
  double infer = (now () - t0) / reps;

  IodineTrainOptions to;
  iodine_train_options_init (&to);
  to.batch = batch;
  to.seed = 3;
  IodineTrainer *tr = iodine_trainer_new (m, &to, &error);
  g_assert_no_error (error);
  iodine_trainer_step (tr, image, NULL, NULL, &error);
  g_assert_no_error (error);
  t0 = now ();
  for (int r = 0; r < reps; r++)
    iodine_trainer_step (tr, image, NULL, NULL, &error);
  double ips = batch * reps / (now () - t0);
  iodine_trainer_free (tr);

  double cf, cb;
  conv_gflops (batch * cfg.slots, cfg.height, cfg.width, cfg.dec_channels, cfg.dec_kernel,
               reps, &cf, &cb);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("%-15s inference %.3f s/image   training %.2f images/s (batch %d)   "
          "decoder conv %.0f GFLOP/s fwd, %.0f bwd   peak RSS %.0f MiB\n",
          name, infer, ips, batch, cf, cb, ru.ru_maxrss / 1024.0);
  double t_infer, t_ips;
  if (with_torch && torch_figures (name, threads, batch, reps, &t_infer, &t_ips))
    printf ("%-15s PyTorch   %.3f s/image   training %.2f images/s   → engine is %.2f× "
            "(inference), %.2f× (training) PyTorch's throughput\n",
            "", t_infer, t_ips, t_infer / infer, ips / t_ips);
  else if (with_torch)
    printf ("%-15s (no PyTorch reference: /usr/bin/python3 without torch)\n", "");
  g_free (image);
}

int
main (int argc, char **argv)
{
  iodine_blas_prefer_fast_kernels (argv);
  int threads = 2, batch = 8, reps = 3;
  gboolean no_torch = FALSE;
  GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads for OpenBLAS and PyTorch (default 2)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Training batch (default 8)", "B" },
    { "reps", 0, 0, G_OPTION_ARG_INT, &reps, "Timed repetitions (default 3)", "N" },
    { "no-torch", 0, 0, G_OPTION_ARG_NONE, &no_torch, "Do not run the PyTorch reference", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("[CONFIG…] — engine speed against sgemm and PyTorch");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || threads < 1 || batch < 1 || reps < 1)
    {
      fprintf (stderr, "iodine-bench: %s\n", error ? error->message : "bad option value");
      return 2;
    }
  g_option_context_free (ctx);
  const char *ct = g_getenv ("OPENBLAS_CORETYPE");
  printf ("threads %d, OPENBLAS_CORETYPE %s\n", threads, ct ? ct : "(library default)");
  /* the machine's sgemm on all the threads (the engine itself gives
   * OpenBLAS one thread while its own kernels run) */
  openblas_set_num_threads (threads);
  printf ("sgemm 1024³ %.0f GFLOP/s; conv-shaped sgemm (256 × 32 × 800) %.0f GFLOP/s "
          "(OpenBLAS, %d threads)\n",
          sgemm_gflops (1024, 1024, 1024, 5), sgemm_gflops (256, 32, 800, 200), threads);
  iodine_blas_set_threads (threads);
  const char *defaults[] = { "tetrominoes", "multi-dsprites" };
  int n = argc > 1 ? argc - 1 : 2;
  for (int i = 0; i < n; i++)
    bench_config (argc > 1 ? argv[i + 1] : defaults[i], threads, batch, reps, !no_torch);
  return 0;
}
