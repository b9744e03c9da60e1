/* The whole training step's gradient, every parameter tensor, against
 * central finite differences on a tiny configuration with fixed noise.
 *
 * The loss (about 10³ here) is computed in float with double accumulation:
 * its rounding error, about 1e-5 per evaluation, becomes about 3e-3 in a
 * difference quotient with h = 4e-3, and the truncation error is about 1% of
 * a gradient. So the bound |fd − analytic| ≤ 3e-2·(|fd| + |analytic|) + 5e-3
 * separates a correct gradient from a wrong one (a missing term or a sign
 * error is off by O(1)). The exact comparison is test-golden's, against
 * PyTorch's autograd. */
#include "model_private.h"
#include "net.h"
#include "rng.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static double
loss_at (IodineNet *net, const float *params, const float *images, const float *eps)
{
  GError *error = NULL;
  if (!iodine_net_forward (net, params, images, eps, NULL, NULL, NULL, NULL, &error))
    g_error ("forward failed: %s", error->message);
  return iodine_net_train_loss (net);
}

/* Images uniform in [0, 1) and posterior noise ε ~ N(0, 1), newly allocated. */
static void
random_batch (IodineRng *rng, int n_pixels, int n_eps, float **images, float **eps)
{
  *images = g_new (float, n_pixels);
  for (int i = 0; i < n_pixels; i++)
    (*images)[i] = (float) iodine_rng_uniform (rng);
  *eps = g_new (float, n_eps);
  for (int i = 0; i < n_eps; i++)
    (*eps)[i] = (float) iodine_rng_normal (rng);
}

static int
check (gboolean lstm, IodineCoords coords, int mlp_layers, float nll_weight)
{
  IodineConfig c = { 0 };
  c.height = 6;
  c.width = 7;
  c.slots = 2;
  c.iterations = 2;
  c.latent = 3;
  c.dec_layers = 2;
  c.dec_channels = 4;
  c.dec_kernel = 3;
  c.ref_layers = 2;
  c.ref_channels = 4;
  c.ref_kernel = 3;
  c.mlp_layers = mlp_layers;
  c.mlp_sizes[0] = 6;
  c.mlp_sizes[1] = 5;
  c.lstm_hidden = lstm ? 5 : 0;
  c.coords = coords;
  c.pixel_scale = 0.1f;
  GError *error = NULL;
  IodineModel *m = iodine_model_new_random (&c, 7, &error);
  g_assert_no_error (error);
  const ParamLayout *L = &m->layout;
  const int B = 2, K = c.slots, T = c.iterations, P = c.height * c.width, M = c.latent;
  IodineRng rng;
  iodine_rng_seed (&rng, 3);
  float *images, *eps;
  random_batch (&rng, B * P * 3, (T + 1) * B * K * M, &images, &eps);
  /* non-trivial values for the parameters that start at 0 or 1 */
  for (size_t i = 0; i < L->total; i++)
    m->params[i] += 0.1f * (float) iodine_rng_normal (&rng);

  IodineNet *net = iodine_net_new (&m->cfg, L, B, K, T, c.height, c.width, TRUE, &error);
  g_assert_no_error (error);
  net->nll_weight = nll_weight; /* GECO's λ on the NLL term */
  float *grads = g_new0 (float, L->total);
  const double loss0 = loss_at (net, m->params, images, eps);
  iodine_net_backward (net, m->params, grads);
  net->sg_frozen = TRUE;

  int failures = 0;
  double worst = 0.0;
  const float h = 4e-3f;
  /* The loss is a float: each evaluation is rounded to its ulp, which the
   * central difference divides by 2h (0.03 for a loss near 3,000), and
   * which way it rounds depends on the BLAS kernels of the CPU (this test
   * failed on a Xeon with OpenBLAS's SkylakeX kernels by one ulp). The
   * tolerance allows two ulps of the loss on top of the relative 3 %. */
  const double fd_noise = 2.0 * FLT_EPSILON * fabs (loss0) / (2.0 * h);
  for (int i = 0; i < L->n; i++)
    {
      const ParamInfo *p = &L->info[i];
      int samples = p->numel < 6 ? (int) p->numel : 6;
      for (int j = 0; j < samples; j++)
        {
          size_t idx = p->offset + (samples == (int) p->numel ? (size_t) j
                                    : iodine_rng_below (&rng, (uint32_t) p->numel));
          float saved = m->params[idx];
          m->params[idx] = saved + h;
          double lp = loss_at (net, m->params, images, eps);
          m->params[idx] = saved - h;
          double lm = loss_at (net, m->params, images, eps);
          m->params[idx] = saved;
          double fd = (lp - lm) / (2.0 * h);
          double an = grads[idx];
          double err = fabs (fd - an) / (fabs (fd) + fabs (an) + 1e-1);
          worst = MAX (worst, err);
          if (fabs (fd - an) > 3e-2 * (fabs (fd) + fabs (an)) + 5e-3 + fd_noise)
            {
              printf ("MISMATCH %s[%zu]: analytic %.6g, finite difference %.6g\n", p->name,
                      idx - p->offset, an, fd);
              failures++;
            }
        }
    }
  printf ("nll weight %.1f, lstm=%d coords=%s mlp=%d: worst relative error %.3g, %d mismatches "
          "(loss %.6g, finite-difference noise allowed %.2g)\n",
          (double) nll_weight, lstm, coords == IODINE_COORDS_COS3 ? "cos3" : "linear", mlp_layers,
          worst, failures, loss0, fd_noise);
  iodine_net_free (net);
  g_free (grads);
  g_free (images);
  g_free (eps);
  iodine_model_free (m);
  return failures;
}

/* The whole training gradient of the tetrominoes configuration, whose
 * decoder convolutions run on the Winograd kernels by default, against the
 * same gradient on the direct kernels (which the goldens and the finite
 * differences above cover through the same code paths): every parameter
 * tensor within 1e-3 of its norm. Measured: 1e-5 or less for all but the
 * layer norm's weight of the leave-one-out input, 2.3e-4: that map is a
 * difference of nearly equal log-likelihoods, normalised, so it amplifies
 * the kernels' rounding differences. A wrong tap or channel gives order 1. */
static int
check_winograd_model (void)
{
  IodineConfig c;
  GError *error = NULL;
  if (!iodine_config_preset ("tetrominoes", &c, &error))
    g_error ("%s", error->message);
  c.iterations = 2;
  IodineModel *m = iodine_model_new_random (&c, 5, &error);
  g_assert_no_error (error);
  const ParamLayout *L = &m->layout;
  const int B = 2, K = c.slots, T = c.iterations, P = c.height * c.width, M = c.latent;
  IodineRng rng;
  iodine_rng_seed (&rng, 9);
  float *images, *eps;
  random_batch (&rng, B * P * 3, (T + 1) * B * K * M, &images, &eps);
  float *grads[2];
  double loss[2];
  for (int path = 0; path < 2; path++)
    {
      g_setenv ("IODINE_CONV_WINOGRAD", path ? "1" : "0", TRUE);
      IodineNet *net = iodine_net_new (&m->cfg, L, B, K, T, c.height, c.width, TRUE, &error);
      g_assert_no_error (error);
      grads[path] = g_new0 (float, L->total);
      loss[path] = loss_at (net, m->params, images, eps);
      iodine_net_backward (net, m->params, grads[path]);
      iodine_net_free (net);
    }
  g_unsetenv ("IODINE_CONV_WINOGRAD");
  int failures = 0;
  double worst = 0;
  for (int i = 0; i < L->n; i++)
    {
      const ParamInfo *p = &L->info[i];
      double diff = 0, norm = 0;
      for (size_t j = p->offset; j < p->offset + p->numel; j++)
        {
          diff += ((double) grads[1][j] - grads[0][j]) * ((double) grads[1][j] - grads[0][j]);
          norm += (double) grads[0][j] * grads[0][j];
        }
      double rel = sqrt (diff) / fmax (sqrt (norm), 1e-30);
      worst = fmax (worst, rel);
      if (!(rel <= 1e-3))
        {
          printf ("MISMATCH Winograd vs direct %s: relative difference %.3g\n", p->name, rel);
          failures++;
        }
    }
  double loss_rel = fabs (loss[1] - loss[0]) / fabs (loss[0]);
  if (!(loss_rel <= 1e-5))
    {
      printf ("MISMATCH Winograd vs direct loss: %.9g vs %.9g\n", loss[1], loss[0]);
      failures++;
    }
  printf ("tetrominoes, Winograd vs direct kernels: loss relative difference %.3g, worst gradient "
          "tensor %.3g, %d mismatches\n", loss_rel, worst, failures);
  g_free (grads[0]);
  g_free (grads[1]);
  g_free (images);
  g_free (eps);
  iodine_model_free (m);
  return failures;
}

int
main (void)
{
  int failures = check (TRUE, IODINE_COORDS_COS3, 1, 1.0f) + check (FALSE, IODINE_COORDS_LINEAR, 2, 1.0f)
                 + check (FALSE, IODINE_COORDS_COS3, 1, 2.5f) + check_winograd_model ();
  return failures ? 1 : 0;
}
