#include "evaluate.h"

#include "fgari.h"
#include "sheet.h"

#include <math.h>

gboolean
iodine_evaluate (const IodineModel *model, IodineDataset *ds, uint64_t first, int count,
                 int slots, int iterations, int restarts, IodineEvalStats *stats,
                 IodineSceneScore *scenes,
                 IodineResult **keep, int n_keep, GError **error)
{
  const IodineConfig *c = iodine_model_config (model);
  const int H = iodine_dataset_height (ds), W = iodine_dataset_width (ds);
  if (H != c->height || W != c->width)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "the dataset's images are %d×%d but the model was trained at %d×%d", W, H,
                   c->width, c->height);
      return FALSE;
    }
  const size_t P = (size_t) H * W;
  float *image = g_new (float, P * 3);
  float *recon = g_new (float, P * 3);
  uint8_t *labels = g_new (uint8_t, P);
  gboolean has_labels = iodine_dataset_has_labels (ds);
  double ari_sum = 0.0, ari_sq = 0.0, mse_sum = 0.0, mse_sq = 0.0;
  int ari_n = 0, purity_n = 0;
  double purity_sum = 0.0;
  gboolean ok = TRUE;
  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.slots = slots;
  opt.iterations = iterations;
  opt.restarts = restarts;
  opt.deterministic = TRUE;
  for (int i = 0; i < count && ok; i++)
    {
      if (!iodine_dataset_get (ds, first + i, image, has_labels ? labels : NULL, error))
        {
          ok = FALSE;
          break;
        }
      IodineResult *r = iodine_decompose (model, image, H, W, &opt, error);
      if (!r)
        {
          ok = FALSE;
          break;
        }
      IodineSceneScore scene = { NAN, NAN, NAN, 0 };
      double scene_purity = 0.0;
      if (has_labels)
        {
          /* purity of every labelled object */
          for (int obj = 1; obj < 256; obj++)
            {
              double best = 0.0, total = 0.0;
              int pixels = 0;
              for (int k = 0; k < r->slots; k++)
                {
                  double mass = 0.0;
                  for (size_t j = 0; j < P; j++)
                    if (labels[j] == obj)
                      mass += r->masks[(size_t) k * P + j];
                  best = fmax (best, mass);
                  total += mass;
                }
              for (size_t j = 0; j < P; j++)
                pixels += labels[j] == obj;
              if (pixels == 0)
                break;
              purity_sum += best / total;
              purity_n++;
              scene_purity += best / total;
              scene.objects++;
            }
          if (scene.objects > 0)
            scene.purity = scene_purity / scene.objects;
          double ari = iodine_fg_ari (labels, r->masks, r->slots, (int) P);
          scene.ari = ari;
          if (!isnan (ari))
            {
              ari_sum += ari;
              ari_sq += ari * ari;
              ari_n++;
            }
        }
      iodine_result_reconstruction (r, recon);
      double se = 0.0;
      for (size_t j = 0; j < P * 3; j++)
        se += (double) (recon[j] - image[j]) * (recon[j] - image[j]);
      double mse = se / (P * 3);
      mse_sum += mse;
      mse_sq += mse * mse;
      scene.mse = mse;
      if (scenes)
        scenes[i] = scene;
      if (keep && i < n_keep)
        keep[i] = r;
      else
        iodine_result_free (r);
    }
  if (ok)
    {
      stats->count = count;
      stats->ari_count = ari_n;
      stats->ari_mean = ari_n ? ari_sum / ari_n : NAN;
      stats->ari_std = ari_n ? sqrt (fmax (0.0, ari_sq / ari_n - stats->ari_mean * stats->ari_mean)) : NAN;
      stats->mse_mean = count ? mse_sum / count : NAN;
      stats->purity_mean = purity_n ? purity_sum / purity_n : NAN;
      stats->mse_std = count ? sqrt (fmax (0.0, mse_sq / count - stats->mse_mean * stats->mse_mean)) : NAN;
    }
  g_free (image);
  g_free (recon);
  g_free (labels);
  return ok;
}
