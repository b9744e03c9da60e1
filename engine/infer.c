/* iodine_decompose: one image, T iterations, the spec §6 result. */
#include "model_private.h"
#include "net.h"
#include "net_private.h"
#include "tensorfile.h"

#include <math.h>
#include <string.h>

void
iodine_run_options_init (IodineRunOptions *o)
{
  memset (o, 0, sizeof *o);
}

/* The net's buffers plus the result's arrays: image (3P), masks, logits and
 * means (5KP) and the masks of every iteration (K(T+1)P). */
static size_t
working_set (const IodineModel *m, int height, int width, int K, int T)
{
  size_t P = (size_t) height * width;
  return iodine_net_bytes (&m->cfg, &m->layout, 1, K, T, height, width, FALSE)
         + sizeof (float) * P * (3 + (size_t) K * (T + 6));
}

size_t
iodine_decompose_working_set (const IodineModel *m, int height, int width, int slots)
{
  return working_set (m, height, width, slots > 0 ? slots : m->cfg.slots, m->cfg.iterations);
}

typedef struct {
  IodineProgressFunc func;
  gpointer data;
  int restart, restarts, iterations;
} ProgressRelay;

/* The net reports iteration t of one run; the caller is told which restart
 * it is and how much of the whole job is done. */
static gboolean
relay (int t, double loss, gpointer data)
{
  const ProgressRelay *r = data;
  const int per_run = r->iterations + 1;
  IodineProgress p = {
    .restart = r->restart,
    .restarts = r->restarts,
    .iteration = t,
    .iterations = r->iterations,
    .loss = (float) loss,
    .fraction = (double) (r->restart * per_run + t + 1) / ((double) r->restarts * per_run),
  };
  return r->func (&p, r->data);
}

/* The run's seed advanced by r steps of the golden ratio increment, so that
 * restart 0 is the plain run and the others are unrelated streams (the seed
 * goes through splitmix64). */
uint64_t
iodine_restart_seed (uint64_t seed, int r)
{
  return seed + (uint64_t) r * 0x9e3779b97f4a7c15ULL;
}

static IodineResult *
result_new (const IodineModel *m, const float *image, int height, int width, int K, int T,
            GError **error)
{
  const size_t P = (size_t) height * width;
  IodineResult *r = g_new0 (IodineResult, 1);
  r->slots = K;
  r->iterations = T;
  r->height = height;
  r->width = width;
  r->latent = m->cfg.latent;
  r->image = g_memdup2 (image, sizeof (float) * P * 3);
  r->masks_per_iteration = g_try_new (float, (size_t) (T + 1) * K * P);
  r->masks = g_try_new (float, K * P);
  r->mask_logits = g_try_new (float, K * P);
  r->means = g_try_new (float, K * P * 3);
  r->lambda = g_new (float, (size_t) K * 2 * m->cfg.latent);
  r->loss = g_new (float, T + 1);
  r->nll = g_new (float, T + 1);
  r->kl = g_new (float, T + 1);
  if (!r->masks_per_iteration || !r->masks || !r->mask_logits || !r->means)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "not enough memory for the result of a %d×%d decomposition", width, height);
      iodine_result_free (r);
      return NULL;
    }
  return r;
}

/* One inference run on the planned net, its outputs copied into r. */
static gboolean
run_once (const IodineModel *m, IodineNet *net, const float *image, uint64_t seed,
          ProgressRelay *pr, IodineResult *r, GError **error)
{
  const int K = r->slots, T = r->iterations;
  const size_t P = (size_t) r->height * r->width;
  IodineRng rng;
  iodine_rng_seed (&rng, seed);
  if (!iodine_net_forward (net, m->params, image, NULL, &rng, r->masks_per_iteration,
                           pr->func ? relay : NULL, pr, error))
    return FALSE;
  memcpy (r->masks, net_masks (net, 0), sizeof (float) * K * P);
  const float *out = net_dec_out (net, 0);
  for (size_t i = 0; i < (size_t) K * P; i++)
    {
      r->mask_logits[i] = out[i * 4];
      r->means[i * 3] = out[i * 4 + 1];
      r->means[i * 3 + 1] = out[i * 4 + 2];
      r->means[i * 3 + 2] = out[i * 4 + 3];
    }
  memcpy (r->lambda, net_lambda (net, T), sizeof (float) * K * 2 * m->cfg.latent);
  for (int t = 0; t <= T; t++)
    {
      r->loss[t] = (float) net->loss[t];
      r->nll[t] = (float) net->nll[t];
      r->kl[t] = (float) net->kl[t];
    }
  return TRUE;
}

IodineResult *
iodine_decompose (const IodineModel *m, const float *image, int height, int width,
                  const IodineRunOptions *options, GError **error)
{
  IodineRunOptions defaults;
  if (!options)
    {
      iodine_run_options_init (&defaults);
      options = &defaults;
    }
  const int K = options->slots > 0 ? options->slots : m->cfg.slots;
  const int T = options->iterations > 0 ? options->iterations : m->cfg.iterations;
  const int R = options->restarts > 0 ? options->restarts : 1;
  if (K < IODINE_MIN_SLOTS || K > IODINE_MAX_SLOTS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%d slots requested; the number of slots must be between %d and %d", K,
                   IODINE_MIN_SLOTS, IODINE_MAX_SLOTS);
      return NULL;
    }
  if (options->iterations < 0 || T < 1 || T > IODINE_MAX_ITERATIONS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%d iterations requested; the number of iterations must be between 1 and %d",
                   options->iterations, IODINE_MAX_ITERATIONS);
      return NULL;
    }
  if (options->restarts < 0 || R > IODINE_MAX_RESTARTS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%d restarts requested; the number of restarts must be between 1 and %d",
                   options->restarts, IODINE_MAX_RESTARTS);
      return NULL;
    }
  if (height < 2 || width < 2)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "the image is %d×%d pixels; at least 2×2 is needed", width, height);
      return NULL;
    }
  size_t need = working_set (m, height, width, K, T);
  if (need > IODINE_MAX_WORKING_SET)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "decomposing %d×%d pixels into %d slots needs %.0f MiB, above the limit of "
                   "%.0f MiB; use a smaller image",
                   width, height, K, need / 1048576.0, IODINE_MAX_WORKING_SET / 1048576.0);
      return NULL;
    }
  IodineNet *net = iodine_net_new (&m->cfg, &m->layout, 1, K, T, height, width, FALSE, error);
  if (!net)
    return NULL;
  /* Every slot starts from the same init.lambda, so with ε = 0 all slots
   * would receive identical updates and stay identical (uniform masks): the
   * samples are what breaks the symmetry, as in the paper. "Deterministic"
   * therefore means reproducible: the noise comes from a fixed seed. */
  const uint64_t seed = options->deterministic ? IODINE_DETERMINISTIC_SEED : options->seed;
  ProgressRelay pr = { options->progress, options->progress_data, 0, R, T };
  IodineResult *best = NULL, *trial = NULL;
  for (int r = 0; r < R; r++)
    {
      if (!trial)
        trial = result_new (m, image, height, width, K, T, error);
      pr.restart = r;
      if (!trial || !run_once (m, net, image, iodine_restart_seed (seed, r), &pr, trial, error))
        {
          g_clear_pointer (&best, iodine_result_free);
          break;
        }
      /* the lower L_T wins, the earlier restart on a tie; a finite loss
       * beats a NaN */
      if (!best || trial->loss[T] < best->loss[T] || (isnan (best->loss[T]) && !isnan (trial->loss[T])))
        {
          IodineResult *loser = best;
          best = trial;
          trial = loser;
        }
    }
  iodine_result_free (trial);
  iodine_net_free (net);
  return best;
}

void
iodine_result_free (IodineResult *r)
{
  if (!r)
    return;
  g_free (r->image);
  g_free (r->masks);
  g_free (r->mask_logits);
  g_free (r->means);
  g_free (r->lambda);
  g_free (r->masks_per_iteration);
  g_free (r->loss);
  g_free (r->nll);
  g_free (r->kl);
  g_free (r);
}

gboolean
iodine_result_save (const IodineResult *r, const char *path, GHashTable *metadata,
                    GError **error)
{
  const int64_t K = r->slots, H = r->height, W = r->width, T1 = r->iterations + 1;
  IodineTensorView v[] = {
    { "image", 3, { H, W, 3 }, r->image },
    { "masks", 3, { K, H, W }, r->masks },
    { "mask_logits", 3, { K, H, W }, r->mask_logits },
    { "means", 4, { K, H, W, 3 }, r->means },
    { "lambda", 2, { K, 2 * r->latent }, r->lambda },
    { "masks_per_iteration", 4, { T1, K, H, W }, r->masks_per_iteration },
    { "loss", 1, { T1 }, r->loss },
    { "nll", 1, { T1 }, r->nll },
    { "kl", 1, { T1 }, r->kl },
  };
  return iodine_tensor_file_write (path, v, G_N_ELEMENTS (v), metadata, error);
}
