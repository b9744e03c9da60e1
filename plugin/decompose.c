/* The GIMP-independent core of the plug-in (see decompose.h). */
#include "decompose.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iodine-config.h"
#include "large_alloc.h"
#include "upsample.h"

/* ---- arguments ----------------------------------------------------------- */

gboolean
iodine_plugin_values_validate (const IodineDecomposeValues *values, GError **error)
{
  if (values->slots < IODINE_SLOTS_MIN || values->slots > IODINE_SLOTS_MAX)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "slots must be between %d and %d, got %d",
                   IODINE_SLOTS_MIN, IODINE_SLOTS_MAX, values->slots);
      return FALSE;
    }
  if (values->iterations < IODINE_ITERATIONS_MIN || values->iterations > IODINE_ITERATIONS_MAX)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "iterations must be between %d and %d, got %d",
                   IODINE_ITERATIONS_MIN, IODINE_ITERATIONS_MAX, values->iterations);
      return FALSE;
    }
  if (values->restarts < IODINE_RESTARTS_MIN || values->restarts > IODINE_RESTARTS_MAX)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "restarts must be between %d and %d, got %d",
                   IODINE_RESTARTS_MIN, IODINE_RESTARTS_MAX, values->restarts);
      return FALSE;
    }
  if (values->seed < -1)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "seed must be -1 (random) or a non-negative number, got %" G_GINT64_FORMAT,
                   values->seed);
      return FALSE;
    }
  if (values->content != IODINE_CONTENT_ORIGINAL && values->content != IODINE_CONTENT_RECONSTRUCTION)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "content must be \"original\" or \"reconstruction\"");
      return FALSE;
    }
  if (strnlen (values->weights, sizeof values->weights) >= sizeof values->weights)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID, "weights path is too long");
      return FALSE;
    }
  return TRUE;
}

gboolean
iodine_plugin_content_parse (const char *text, IodineContentMode *mode, GError **error)
{
  if (text == NULL || *text == '\0' || g_ascii_strcasecmp (text, "original") == 0)
    *mode = IODINE_CONTENT_ORIGINAL;
  else if (g_ascii_strcasecmp (text, "reconstruction") == 0)
    *mode = IODINE_CONTENT_RECONSTRUCTION;
  else
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "content must be \"original\" or \"reconstruction\", got \"%s\"", text);
      return FALSE;
    }
  return TRUE;
}

const char *
iodine_plugin_content_name (IodineContentMode mode)
{
  return mode == IODINE_CONTENT_RECONSTRUCTION ? "reconstruction" : "original";
}

/* ---- shipped models ------------------------------------------------------ */

static char *exe_dir;

void
iodine_plugin_set_exe_dir (const char *dir)
{
  g_free (exe_dir);
  exe_dir = g_strdup (dir);
}

char **
iodine_plugin_data_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new ();
  if (exe_dir)
    {
      g_ptr_array_add (dirs, g_strdup (exe_dir));
      g_ptr_array_add (dirs, g_build_filename (exe_dir, "weights", NULL));
    }
  const char *env = g_getenv ("IODINE_WEIGHTS_DIR");
  if (env && *env)
    g_ptr_array_add (dirs, g_strdup (env));
  g_ptr_array_add (dirs, g_strdup (IODINE_DATADIR));
  g_ptr_array_add (dirs, g_build_filename (IODINE_DATADIR, "weights", NULL));
  g_ptr_array_add (dirs, g_build_filename (IODINE_SOURCE_DIR, "weights", NULL));
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

static const struct { const char *file, *name; } shipped[] = {
  { "general.safetensors", "General" },
  { "tetrominoes.safetensors", "Tetrominoes" },
  { "multi-dsprites.safetensors", "Multi-dSprites" },
};

IodineModelChoice *
iodine_plugin_find_models (int *n_models)
{
  char **dirs = iodine_plugin_data_dirs ();
  IodineModelChoice *models = g_new0 (IodineModelChoice, G_N_ELEMENTS (shipped));
  int n = 0;
  for (gsize s = 0; s < G_N_ELEMENTS (shipped); s++)
    for (char **d = dirs; *d; d++)
      {
        char *path = g_build_filename (*d, shipped[s].file, NULL);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
          {
            models[n].name = shipped[s].name;
            models[n].path = path;
            n++;
            break;
          }
        g_free (path);
      }
  g_strfreev (dirs);
  *n_models = n;
  return models;
}

void
iodine_plugin_models_free (IodineModelChoice *models, int n_models)
{
  for (int i = 0; i < n_models; i++)
    g_free ((char *) models[i].path);
  g_free (models);
}

char *
iodine_plugin_resolve_weights (const char *path, GError **error)
{
  if (path && *path)
    return g_strdup (path);
  int n = 0;
  IodineModelChoice *models = iodine_plugin_find_models (&n);
  char *result = n > 0 ? g_strdup (models[0].path) : NULL;
  iodine_plugin_models_free (models, n);
  if (!result)
    {
      char **dirs = iodine_plugin_data_dirs ();
      char *list = g_strjoinv (", ", dirs);
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
                   "No IODINE model found (looked for general.safetensors, "
                   "tetrominoes.safetensors and multi-dsprites.safetensors in %s); "
                   "choose a weights file or set IODINE_WEIGHTS_DIR", list);
      g_free (list);
      g_strfreev (dirs);
    }
  return result;
}

/* ---- region -------------------------------------------------------------- */

IodineRegion *
iodine_region_new (int width, int height, gboolean with_selection, GError **error)
{
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "The region to decompose is empty");
      return NULL;
    }
  if ((gsize) width * height > IODINE_PLUGIN_MAX_PIXELS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "The image is too large: %d × %d pixels (at most %" G_GSIZE_FORMAT
                   " million); select a smaller region", width, height,
                   IODINE_PLUGIN_MAX_PIXELS / 1000000);
      return NULL;
    }
  IodineRegion *r = g_new0 (IodineRegion, 1);
  r->width = width;
  r->height = height;
  r->rgba = iodine_try_alloc_large ((gsize) width * height * 4 * sizeof (float));
  if (with_selection)
    r->selection = iodine_try_alloc_large ((gsize) width * height * sizeof (float));
  if (!r->rgba || (with_selection && !r->selection))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "Out of memory reading a %d × %d image", width, height);
      iodine_region_free (r);
      return NULL;
    }
  return r;
}

void
iodine_region_free (IodineRegion *region)
{
  if (!region)
    return;
  g_free (region->rgba);
  g_free (region->selection);
  g_free (region);
}

static float *
region_rgb (const IodineRegion *region)
{
  gsize n = (gsize) region->width * region->height;
  float *rgb = iodine_try_alloc_large (n * 3 * sizeof (float));
  if (!rgb)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      float a = CLAMP (region->rgba[i * 4 + 3], 0.0f, 1.0f);
      for (int c = 0; c < 3; c++)
        rgb[i * 3 + c] = CLAMP (region->rgba[i * 4 + c], 0.0f, 1.0f) * a;
    }
  return rgb;
}

float *
iodine_region_preview (const IodineRegion *region, int max_side, int *width, int *height)
{
  int w = region->width, h = region->height;
  if (MAX (w, h) > max_side)
    {
      double s = (double) max_side / MAX (w, h);
      w = MAX (1, (int) lround (w * s));
      h = MAX (1, (int) lround (h * s));
    }
  float *rgb = region_rgb (region);
  if (!rgb)
    return NULL;
  float *out = g_new (float, (gsize) w * h * 3);
  iodine_resample (rgb, region->width, region->height, 3, out, w, h);
  g_free (rgb);
  *width = w;
  *height = h;
  return out;
}

/* ---- decomposition ------------------------------------------------------- */

struct IodineDecomposition {
  IodineRegion *region;
  int width, height;            /* region size */
  int mh, mw;                   /* model size */
  int n;                        /* layers */
  char **names;
  double *areas;
  float *means;                 /* [n, mh, mw, 3], layer order */
  float *masks;                 /* [n, height, width], layer order, without selection */
};

gsize
iodine_decomposition_working_set (const IodineModel *model, int width, int height, int slots)
{
  const IodineConfig *cfg = iodine_model_config (model);
  gsize N = (gsize) width * height;
  gsize engine = iodine_decompose_working_set (model, cfg->height, cfg->width, slots);
  /* region rgba + selection + guide + K masks + one layer's rgba and mask
   * + the guided filter's working planes */
  gsize full = N * sizeof (float) * (4 + 1 + 3 + (gsize) slots + 5);
  return engine + full + (gsize) 40 * 768 * 1024 * sizeof (float);
}

typedef struct {
  IodinePluginProgress progress;
  gpointer data;
  gboolean cancelled;
} EngineProgress;

static gboolean
engine_progress (const IodineProgress *progress, gpointer user_data)
{
  EngineProgress *p = user_data;
  if (p->progress && !p->progress (0.9 * progress->fraction, p->data))
    {
      p->cancelled = TRUE;
      return FALSE;
    }
  return TRUE;
}

void
iodine_plugin_timing (const char *stage)
{
  static gint64 first, last;
  static int enabled = -1;
  if (enabled < 0)
    enabled = g_getenv ("IODINE_TIMING") != NULL;
  if (!enabled)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!stage)
    first = now;
  else if (g_strcmp0 (stage, IODINE_TIMING_TOTAL) == 0)
    fprintf (stderr, "iodine-timing: %s %.3f s\n", stage, (now - first) / 1e6);
  else
    fprintf (stderr, "iodine-timing: %s %.3f s\n", stage, (now - last) / 1e6);
  last = now;
}

static uint64_t
pick_seed (gint64 seed)
{
  if (seed >= 0)
    return (uint64_t) seed;
  return ((uint64_t) g_random_int () << 32) | g_random_int ();
}

IodineDecomposition *
iodine_decomposition_compute (const IodineModel *model, IodineRegion *region,
                              const IodineDecomposeValues *values,
                              IodinePluginProgress progress, gpointer progress_data,
                              GError **error)
{
  IodineDecomposition *d = NULL;
  float *rgb = NULL, *small = NULL, *kept = NULL;
  IodineResult *res = NULL;
  int *order = NULL;

  if (!iodine_plugin_values_validate (values, error))
    goto fail;

  const IodineConfig *cfg = iodine_model_config (model);
  int W = region->width, H = region->height, mw = cfg->width, mh = cfg->height;
  gsize M = (gsize) mw * mh;

  gsize need = iodine_decomposition_working_set (model, W, H, values->slots);
  if (need > IODINE_MAX_WORKING_SET)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "The image is too large: decomposing %d × %d pixels into %d slots "
                   "needs %" G_GSIZE_FORMAT " MiB, more than the limit of %" G_GSIZE_FORMAT
                   " MiB; select a smaller region", W, H, values->slots,
                   need >> 20, (gsize) IODINE_MAX_WORKING_SET >> 20);
      goto fail;
    }

  rgb = region_rgb (region);
  if (!rgb)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY, "Out of memory");
      goto fail;
    }
  small = g_new (float, M * 3);
  iodine_resample (rgb, W, H, 3, small, mw, mh);
  iodine_plugin_timing ("resize to the model's size");

  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.slots = values->slots;
  opt.iterations = values->iterations;
  opt.restarts = values->restarts;
  opt.seed = pick_seed (values->seed);
  opt.deterministic = values->deterministic;
  EngineProgress ep = { progress, progress_data, FALSE };
  opt.progress = engine_progress;
  opt.progress_data = &ep;
  res = iodine_decompose (model, small, mh, mw, &opt, error);
  if (!res)
    goto fail;
  iodine_plugin_timing ("model");
  if (progress && !progress (0.9, progress_data))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_CANCELLED, "Cancelled");
      goto fail;
    }

  /* non-empty slots: those that win the argmax on at least 0.1 % of the
   * (selected) pixels, at least one; areas within the selection */
  int K = res->slots;
  float *sel = NULL;
  gsize counted = M;
  if (region->selection)
    {
      sel = g_new (float, M);
      iodine_resample (region->selection, W, H, 1, sel, mw, mh);
      counted = 0;
      for (gsize i = 0; i < M; i++)
        counted += sel[i] >= 0.5f;
      if (counted == 0)
        {
          g_clear_pointer (&sel, g_free);
          counted = M;
        }
    }
  int *wins = g_new0 (int, K);
  double *area = g_new0 (double, K), *border = g_new0 (double, K);
  for (gsize i = 0; i < M; i++)
    {
      int best = 0;
      int y = (int) (i / mw), x = (int) (i % mw);
      gboolean edge = y == 0 || x == 0 || y == mh - 1 || x == mw - 1;
      float weight = sel ? sel[i] : 1.0f;
      for (int k = 0; k < K; k++)
        {
          float m = res->masks[(gsize) k * M + i];
          area[k] += m * weight;
          if (edge) border[k] += m;
          if (m > res->masks[(gsize) best * M + i]) best = k;
        }
      if (!sel || sel[i] >= 0.5f)
        wins[best]++;
    }
  g_free (sel);
  int min_wins = MAX (1, (int) ceil (0.001 * counted));
  int n = 0, bg = -1;
  order = g_new (int, K);
  for (int k = 0; k < K; k++)
    if (wins[k] >= min_wins)
      order[n++] = k;
  for (int i = 0; i < n; i++)
    if (bg < 0 || border[order[i]] > border[bg])
      bg = order[i];
  /* objects by decreasing area, then the background */
  int no = 0;
  for (int i = 0; i < n; i++)
    if (order[i] != bg)
      order[no++] = order[i];
  for (int i = 1; i < no; i++)
    for (int j = i; j > 0 && area[order[j]] > area[order[j - 1]]; j--)
      {
        int t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
  order[no] = bg;

  d = g_new0 (IodineDecomposition, 1);
  d->width = W;
  d->height = H;
  d->mw = mw;
  d->mh = mh;
  d->n = n;
  d->names = g_new0 (char *, n + 1);
  d->areas = g_new0 (double, n);
  d->means = g_new (float, (gsize) n * M * 3);
  kept = g_new (float, (gsize) n * M);
  for (int i = 0; i < n; i++)
    {
      int k = order[i];
      /* TRANSLATORS: layer names of the decomposition */
      d->names[i] = k == bg ? g_strdup (_("Background")) : g_strdup_printf (_("Object %d"), i + 1);
      d->areas[i] = area[k] / M;
      memcpy (d->means + (gsize) i * M * 3, res->means + (gsize) k * M * 3, M * 3 * sizeof (float));
      memcpy (kept + (gsize) i * M, res->masks + (gsize) k * M, M * sizeof (float));
    }
  g_free (wins);
  g_free (area);
  g_free (border);
  /* the dropped slots' share goes to the kept ones */
  for (gsize i = 0; i < M; i++)
    {
      float sum = 0.0f;
      for (int j = 0; j < n; j++)
        sum += kept[(gsize) j * M + i];
      for (int j = 0; j < n; j++)
        kept[(gsize) j * M + i] = sum > 1e-12f ? kept[(gsize) j * M + i] / sum : 1.0f / n;
    }
  iodine_result_free (res);
  res = NULL;

  d->masks = iodine_upsample_masks (kept, n, mw, mh, rgb, W, H, error);
  if (!d->masks)
    goto fail;
  iodine_plugin_timing ("masks to full resolution");
  if (progress && !progress (1.0, progress_data))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_CANCELLED, "Cancelled");
      goto fail;
    }
  d->region = region;
  region = NULL;
  g_free (kept);
  g_free (order);
  g_free (rgb);
  g_free (small);
  return d;

fail:
  iodine_decomposition_free (d);
  iodine_result_free (res);
  iodine_region_free (region);
  g_free (kept);
  g_free (order);
  g_free (rgb);
  g_free (small);
  return NULL;
}

void
iodine_decomposition_free (IodineDecomposition *d)
{
  if (!d)
    return;
  iodine_region_free (d->region);
  g_strfreev (d->names);
  g_free (d->areas);
  g_free (d->means);
  g_free (d->masks);
  g_free (d);
}

int iodine_decomposition_width (const IodineDecomposition *d) { return d->width; }
int iodine_decomposition_height (const IodineDecomposition *d) { return d->height; }
int iodine_decomposition_n_layers (const IodineDecomposition *d) { return d->n; }

const char *
iodine_decomposition_layer_name (const IodineDecomposition *d, int layer)
{
  g_return_val_if_fail (layer >= 0 && layer < d->n, NULL);
  return d->names[layer];
}

double
iodine_decomposition_layer_area (const IodineDecomposition *d, int layer)
{
  g_return_val_if_fail (layer >= 0 && layer < d->n, 0.0);
  return d->areas[layer];
}

/* bilinear tap (pixel centres aligned) of output coordinate i of out along
 * an axis of in samples */
static void
tap (int i, int in, int out, int *j0, int *j1, float *f)
{
  double x = (i + 0.5) * in / out - 0.5;
  x = CLAMP (x, 0.0, in - 1.0);
  *j0 = (int) floor (x);
  *j1 = MIN (*j0 + 1, in - 1);
  *f = (float) (x - *j0);
}

void
iodine_decomposition_layer_pixels (const IodineDecomposition *d, int layer,
                                   IodineContentMode content, int y0, int rows,
                                   float *rgba, float *mask)
{
  g_return_if_fail (layer >= 0 && layer < d->n && y0 >= 0 && y0 + rows <= d->height);
  int W = d->width, mw = d->mw, mh = d->mh;
  gsize N = (gsize) W * d->height;
  const float *means = d->means + (gsize) layer * mw * mh * 3;
  const float *masks = d->masks + (gsize) layer * N;
  const IodineRegion *r = d->region;
  int *x0 = g_new (int, W), *x1 = g_new (int, W);
  float *fx = g_new (float, W);
  for (int x = 0; x < W; x++)
    tap (x, mw, W, &x0[x], &x1[x], &fx[x]);

  for (int row = 0; row < rows; row++)
    {
      int y = y0 + row, ya, yb;
      float fy;
      tap (y, mh, d->height, &ya, &yb, &fy);
      const float *ma = means + (gsize) ya * mw * 3, *mb = means + (gsize) yb * mw * 3;
      gsize base = (gsize) y * W;
      float *out = rgba + (gsize) row * W * 4;
      for (int x = 0; x < W; x++)
        {
          float rec[3];
          for (int c = 0; c < 3; c++)
            {
              float top = ma[x0[x] * 3 + c] + fx[x] * (ma[x1[x] * 3 + c] - ma[x0[x] * 3 + c]);
              float bot = mb[x0[x] * 3 + c] + fx[x] * (mb[x1[x] * 3 + c] - mb[x0[x] * 3 + c]);
              rec[c] = CLAMP (top + fy * (bot - top), 0.0f, 1.0f);
            }
          float m = masks[base + x];
          if (content == IODINE_CONTENT_ORIGINAL)
            {
              /* original where the slot is visible, inpainted where occluded */
              float v = CLAMP (2.0f * m, 0.0f, 1.0f);
              const float *src = r->rgba + (base + x) * 4;
              for (int c = 0; c < 3; c++)
                out[x * 4 + c] = v * src[c] + (1.0f - v) * rec[c];
              out[x * 4 + 3] = v * src[3] + (1.0f - v);
            }
          else
            {
              for (int c = 0; c < 3; c++)
                out[x * 4 + c] = rec[c];
              out[x * 4 + 3] = 1.0f;
            }
          mask[(gsize) row * W + x] = r->selection ? m * r->selection[base + x] : m;
        }
    }
  g_free (x0);
  g_free (x1);
  g_free (fx);
}
