/* The C engine against the PyTorch reference of the spec
 * (tests/reference/make_golden.py): decompositions of both reference
 * configurations for T = 1, 2, 5 with ε = 0 and with stored noise, and the
 * gradients of a whole training step on two tiny configurations.
 *
 * The reference's own float32-vs-float64 spread is below 2e-6 for every
 * compared tensor (tests/reference/README.md), so the bounds below (masks
 * 1e-4 absolute, the rest 1e-4 relative to the tensor's largest value,
 * losses 1e-5 relative) leave room for summation order, not for bugs. */
#include "model_private.h"
#include "net.h"
#include "net_private.h"
#include "parallel.h"
#include "tensorfile.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;

static char *
golden (const char *name)
{
  const char *src = g_getenv ("IODINE_SOURCE_DIR");
  return g_build_filename (src ? src : ".", "tests", "data", "golden", name, NULL);
}

static IodineTensorFile *
open_golden (const char *name)
{
  char *path = golden (name);
  GError *error = NULL;
  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  g_free (path);
  return f;
}

/* max |a − b| against bound·(abs ? 1 : max|b|) */
static void
compare (const char *what, const char *tensor, const float *a, const IodineTensorFile *f,
         size_t stride_a, size_t pick, double bound, gboolean absolute)
{
  const IodineTensor *t = iodine_tensor_file_get (f, tensor);
  g_assert_nonnull (t);
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < t->numel; i++)
    scale = fmax (scale, fabs (t->data[i]));
  for (size_t i = 0; i < t->numel; i++)
    {
      size_t j = stride_a ? (i / pick) * stride_a + i % pick : i;
      worst = fmax (worst, fabs ((double) a[j] - t->data[i]));
    }
  double limit = absolute ? bound : bound * fmax (scale, 1e-6);
  gboolean ok = worst <= limit;
  printf ("%-34s %-12s max diff %.3g (limit %.3g) %s\n", what, tensor, worst, limit,
          ok ? "ok" : "FAIL");
  if (!ok)
    failures++;
}

static void
compare_losses (const char *what, const IodineNet *net, const IodineTensorFile *f)
{
  const char *names[3] = { "loss", "nll", "kl" };
  const double *mine[3] = { net->loss, net->nll, net->kl };
  for (int k = 0; k < 3; k++)
    {
      const IodineTensor *t = iodine_tensor_file_get (f, names[k]);
      double worst = 0.0;
      for (size_t i = 0; i < t->numel; i++)
        worst = fmax (worst, fabs (mine[k][i] - t->data[i]) / fmax (fabs (t->data[i]), 1.0));
      gboolean ok = worst <= 1e-5;
      printf ("%-34s %-12s max rel diff %.3g %s\n", what, names[k], worst, ok ? "ok" : "FAIL");
      if (!ok)
        failures++;
    }
}

static void
check_decomposition (const char *config, const char *run)
{
  char *wname = g_strdup_printf ("%s-weights.safetensors", config);
  char *rname = g_strdup_printf ("%s-%s.safetensors", config, run);
  char *wpath = golden (wname);
  GError *error = NULL;
  IodineModel *m = iodine_model_load (wpath, &error);
  g_assert_no_error (error);
  IodineTensorFile *f = open_golden (rname);
  const IodineTensor *img = iodine_tensor_file_get (f, "image");
  const IodineTensor *lam = iodine_tensor_file_get (f, "lambda");
  const IodineTensor *eps = iodine_tensor_file_get (f, "eps");
  const int H = (int) img->shape[0], W = (int) img->shape[1], K = (int) lam->shape[0];
  const int T = (int) iodine_tensor_file_get (f, "loss")->numel - 1;
  IodineNet *net = iodine_net_new (&m->cfg, &m->layout, 1, K, T, H, W, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (iodine_net_forward (net, m->params, img->data, eps ? eps->data : NULL, NULL,
                                     NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  char *what = g_strdup_printf ("%s %s", config, run);
  compare (what, "masks", net_masks (net, 0), f, 0, 1, 1e-4, TRUE);
  const float *out = net_dec_out (net, 0);
  compare (what, "mask_logits", out, f, 4, 1, 1e-4, FALSE);
  /* means [K, H, W, 3] are channels 1..3 of the [K, P, 4] output */
  compare (what, "means", out + 1, f, 4, 3, 1e-4, FALSE);
  compare (what, "lambda", net_lambda (net, T), f, 0, 1, 1e-4, FALSE);
  compare_losses (what, net, f);
  g_free (what);
  iodine_net_free (net);
  iodine_tensor_file_free (f);
  iodine_model_free (m);
  g_free (wpath);
  g_free (wname);
  g_free (rname);
}

static void
check_training_gradients (const char *name)
{
  IodineTensorFile *f = open_golden (name);
  GError *error = NULL;
  IodineModel *m = model_from_tensor_file (f, TRUE, &error);
  g_assert_no_error (error);
  const IodineTensor *images = iodine_tensor_file_get (f, "images");
  const IodineTensor *eps = iodine_tensor_file_get (f, "eps");
  const int B = (int) images->shape[0];
  const int T = (int) eps->shape[0] - 1, K = (int) eps->shape[2];
  IodineNet *net = iodine_net_new (&m->cfg, &m->layout, B, K, T, m->cfg.height, m->cfg.width,
                                   TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (iodine_net_forward (net, m->params, images->data, eps->data, NULL, NULL, NULL,
                                     NULL, &error));
  float *grads = g_new0 (float, m->layout.total);
  iodine_net_backward (net, m->params, grads);
  double loss = iodine_net_train_loss (net);
  double ref = iodine_tensor_file_get (f, "train_loss")->data[0];
  gboolean ok = fabs (loss - ref) <= 1e-5 * fabs (ref);
  printf ("%-34s train_loss   %.8g vs %.8g %s\n", name, loss, ref, ok ? "ok" : "FAIL");
  if (!ok)
    failures++;
  float *file_order = g_new (float, m->layout.total);
  for (int i = 0; i < m->layout.n; i++)
    {
      const ParamInfo *p = &m->layout.info[i];
      model_param_to_file (p, file_order + p->offset, grads + p->offset);
      char *gname = g_strconcat ("grad.", p->name, NULL);
      char *what = g_strdup_printf ("%s %s", name, p->name);
      compare (what, gname, file_order + p->offset, f, 0, 1, 1e-4, FALSE);
      g_free (what);
      g_free (gname);
    }
  g_free (file_order);
  g_free (grads);
  iodine_net_free (net);
  iodine_model_free (m);
  iodine_tensor_file_free (f);
}

/* The engine's threads split work by slot, image or block, never a sum:
 * gradients and decompositions are bit-identical for any thread count. */
static void
check_thread_invariance (void)
{
  IodineTensorFile *f = open_golden ("train-tiny.safetensors");
  GError *error = NULL;
  IodineModel *m = model_from_tensor_file (f, TRUE, &error);
  g_assert_no_error (error);
  const IodineTensor *images = iodine_tensor_file_get (f, "images");
  const IodineTensor *eps = iodine_tensor_file_get (f, "eps");
  const int B = (int) images->shape[0], T = (int) eps->shape[0] - 1, K = (int) eps->shape[2];
  float *grads[2];
  double loss[2];
  const int threads[2] = { 1, 3 };
  for (int r = 0; r < 2; r++)
    {
      iodine_parallel_set_threads (threads[r]);
      IodineNet *net = iodine_net_new (&m->cfg, &m->layout, B, K, T, m->cfg.height,
                                       m->cfg.width, TRUE, &error);
      g_assert_no_error (error);
      g_assert_true (iodine_net_forward (net, m->params, images->data, eps->data, NULL, NULL,
                                         NULL, NULL, &error));
      grads[r] = g_new0 (float, m->layout.total);
      iodine_net_backward (net, m->params, grads[r]);
      loss[r] = iodine_net_train_loss (net);
      iodine_net_free (net);
    }
  iodine_parallel_set_threads (1);
  gboolean same = loss[0] == loss[1]
                  && memcmp (grads[0], grads[1], sizeof (float) * m->layout.total) == 0;
  printf ("threads 1 vs 3: loss and every gradient bit-identical: %s\n", same ? "ok" : "FAIL");
  if (!same)
    failures++;
  g_free (grads[0]);
  g_free (grads[1]);
  iodine_model_free (m);
  iodine_tensor_file_free (f);
}

int
main (void)
{
  const char *configs[] = { "tetrominoes", "multi-dsprites" };
  const char *runs[] = { "T1", "T2", "T5", "T5-eps" };
  for (int c = 0; c < 2; c++)
    for (int r = 0; r < 4; r++)
      check_decomposition (configs[c], runs[r]);
  check_training_gradients ("train-tiny.safetensors");
  check_training_gradients ("train-tiny-nolstm.safetensors");
  check_thread_invariance ();
  printf ("%d failures\n", failures);
  return failures ? 1 : 0;
}
