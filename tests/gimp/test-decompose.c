/* The plug-in's GIMP-independent core: model lookup, argument checks, a
 * decomposition of the sample image with a random model (layers, names,
 * masks summing to 1, selection), and the speed of the edge-aware
 * upsampling on a 4000 × 3000 image. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "decompose.h"
#include "host.h"
#include "image_io.h"
#include "upsample.h"

static void
test_values (void)
{
  IodineDecomposeValues v;
  GError *error = NULL;
  iodine_decompose_values_init (&v);
  g_assert_true (iodine_plugin_values_validate (&v, &error));
  v.slots = 17;
  g_assert_false (iodine_plugin_values_validate (&v, &error));
  g_assert_nonnull (strstr (error->message, "slots"));
  g_clear_error (&error);
  v.slots = 4;
  v.iterations = 0;
  g_assert_false (iodine_plugin_values_validate (&v, &error));
  g_assert_nonnull (strstr (error->message, "iterations"));
  g_clear_error (&error);
  v.iterations = 3;
  for (int restarts = 0; restarts <= IODINE_RESTARTS_MAX + 1; restarts += IODINE_RESTARTS_MAX + 1)
    {
      v.restarts = restarts;
      g_assert_false (iodine_plugin_values_validate (&v, &error));
      g_assert_nonnull (strstr (error->message, "restarts must be between 1 and 16"));
      g_clear_error (&error);
    }
  v.restarts = IODINE_RESTARTS_MAX;
  g_assert_true (iodine_plugin_values_validate (&v, &error));
  /* an image too large is refused before anything is allocated */
  g_assert_null (iodine_region_new (20000, 20000, FALSE, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY);
  g_assert_nonnull (strstr (error->message, "too large"));
  g_clear_error (&error);
  IodineContentMode mode;
  g_assert_true (iodine_plugin_content_parse ("reconstruction", &mode, NULL));
  g_assert_cmpint (mode, ==, IODINE_CONTENT_RECONSTRUCTION);
  g_assert_false (iodine_plugin_content_parse ("bogus", &mode, &error));
  g_clear_error (&error);
}

static char *weights_dir;

static void
test_models (void)
{
  g_setenv ("IODINE_WEIGHTS_DIR", weights_dir, TRUE);
  int n = 0;
  IodineModelChoice *models = iodine_plugin_find_models (&n);
  g_assert_cmpint (n, >=, 1);
  gboolean found = FALSE;
  for (int i = 0; i < n; i++)
    if (strcmp (models[i].name, "Tetrominoes") == 0)
      found = TRUE;
  g_assert_true (found);
  iodine_plugin_models_free (models, n);
  char *path = iodine_plugin_resolve_weights ("", NULL);
  g_assert_nonnull (path);
  g_free (path);
}

static IodineRegion *
sample_region (gboolean with_selection)
{
  char *path = g_build_filename (g_getenv ("IODINE_SOURCE_DIR"), "tests", "data", "sample.png", NULL);
  IodineImage *img = iodine_image_load (path, NULL);
  g_assert_nonnull (img);
  g_free (path);
  IodineRegion *r = iodine_region_new (img->width, img->height, with_selection, NULL);
  for (gsize i = 0; i < (gsize) img->width * img->height; i++)
    {
      memcpy (r->rgba + i * 4, img->rgb + i * 3, 3 * sizeof (float));
      r->rgba[i * 4 + 3] = 1.0f;
      if (with_selection)
        r->selection[i] = (i % img->width) < (gsize) img->width / 2 ? 1.0f : 0.0f;
    }
  iodine_image_free (img);
  return r;
}

static void
test_decompose (gconstpointer with_selection)
{
  char *wpath = g_build_filename (weights_dir, "tetrominoes.safetensors", NULL);
  GError *error = NULL;
  IodineModel *model = iodine_model_load (wpath, &error);
  g_assert_no_error (error);
  g_free (wpath);
  IodineDecomposeValues v;
  iodine_decompose_values_init (&v);
  v.seed = 3;
  v.slots = 5;
  v.iterations = 2;
  IodineRegion *r = sample_region (GPOINTER_TO_INT (with_selection));
  int W = r->width, H = r->height;
  IodineDecomposition *d = iodine_decomposition_compute (model, r, &v, NULL, NULL, &error);
  g_assert_no_error (error);
  int n = iodine_decomposition_n_layers (d);
  g_assert_cmpint (n, >=, 1);
  g_assert_cmpint (n, <=, 5);
  g_assert_cmpstr (iodine_decomposition_layer_name (d, n - 1), ==, "Background");
  for (int i = 0; i < n - 1; i++)
    {
      char *expect = g_strdup_printf ("Object %d", i + 1);
      g_assert_cmpstr (iodine_decomposition_layer_name (d, i), ==, expect);
      g_free (expect);
      if (i > 0)
        g_assert_cmpfloat (iodine_decomposition_layer_area (d, i), <=,
                           iodine_decomposition_layer_area (d, i - 1) + 1e-9);
    }
  float *sum = g_new0 (float, (gsize) W * H);
  float *rgba = g_new (float, (gsize) W * H * 4), *mask = g_new (float, (gsize) W * H);
  for (int i = 0; i < n; i++)
    {
      iodine_decomposition_layer_pixels (d, i, IODINE_CONTENT_ORIGINAL, 0, H, rgba, mask);
      for (gsize p = 0; p < (gsize) W * H; p++)
        {
          g_assert_cmpfloat (mask[p], >=, 0.0f);
          g_assert_cmpfloat (mask[p], <=, 1.0f);
          sum[p] += mask[p];
          for (int c = 0; c < 4; c++)
            g_assert_true (isfinite (rgba[p * 4 + c]));
        }
    }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        float expect = GPOINTER_TO_INT (with_selection) ? (x < W / 2 ? 1.0f : 0.0f) : 1.0f;
        g_assert_cmpfloat (fabsf (sum[(gsize) y * W + x] - expect), <, 1e-4f);
      }
  g_free (sum);
  g_free (rgba);
  g_free (mask);
  iodine_decomposition_free (d);
  iodine_model_free (model);
}


/* a host without GIMP: runs the whole driver (worker thread, progress,
 * cancel) and records what it would write */
typedef struct {
  IodineHost base;
  int updates;
  gboolean cancel;
  int layers;
  double mask_sum;
} FakeHost;

static IodineRegion *
fake_read (IodineHost *host, GError **error)
{
  (void) host;
  (void) error;
  return sample_region (FALSE);
}

static void
fake_start (IodineHost *host, const char *text)
{
  (void) host;
  g_assert_nonnull (text);
}

static gboolean
fake_update (IodineHost *base, double fraction)
{
  FakeHost *host = (FakeHost *) base;
  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  host->updates++;
  return !host->cancel;
}

static gboolean
fake_write (IodineHost *base, const IodineDecomposition *d, IodineContentMode content, GError **error)
{
  FakeHost *host = (FakeHost *) base;
  (void) error;
  int W = iodine_decomposition_width (d), H = iodine_decomposition_height (d);
  float *rgba = g_new (float, (gsize) W * 7 * 4), *mask = g_new (float, (gsize) W * 7);
  host->layers = iodine_decomposition_n_layers (d);
  for (int i = 0; i < host->layers; i++)
    for (int y0 = 0; y0 < H; y0 += 7)
      {
        int rows = MIN (7, H - y0);
        iodine_decomposition_layer_pixels (d, i, content, y0, rows, rgba, mask);
        for (int p = 0; p < rows * W; p++)
          host->mask_sum += mask[p];
      }
  g_free (rgba);
  g_free (mask);
  return TRUE;
}

static const IodineHostOps fake_ops = { fake_read, fake_start, fake_update, fake_write, NULL };

static void
test_driver (void)
{
  FakeHost host = { { &fake_ops }, 0, FALSE, 0, 0.0 };
  IodineDecomposeValues v;
  GError *error = NULL;
  iodine_decompose_values_init (&v);
  char *wpath = g_build_filename (weights_dir, "tetrominoes.safetensors", NULL);
  g_strlcpy (v.weights, wpath, sizeof v.weights);
  g_free (wpath);
  v.iterations = 3;
  g_assert_true (iodine_plugin_run (&host.base, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpint (host.layers, >=, 1);
  g_assert_cmpint (host.updates, >=, 1);
  g_assert_cmpfloat (fabs (host.mask_sum - 320.0 * 240.0), <, 1.0);

  /* cancelled from the progress: no layers written */
  FakeHost cancelled = { { &fake_ops }, 0, TRUE, 0, 0.0 };
  g_assert_false (iodine_plugin_run (&cancelled.base, &v, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (cancelled.layers, ==, 0);

  /* unreadable weights */
  FakeHost bad = { { &fake_ops }, 0, FALSE, 0, 0.0 };
  g_strlcpy (v.weights, "/nonexistent/w.safetensors", sizeof v.weights);
  g_assert_false (iodine_plugin_run (&bad.base, &v, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (bad.layers, ==, 0);
}

static void
test_upsample_edges (void)
{
  /* a vertical edge at x = 333 of 1000: the low-res masks blur it, the
   * guided result is sharp again */
  int w = 35, h = 35, W = 1000, H = 600;
  float *masks = g_new (float, 2 * w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float m = CLAMP ((x + 0.5f) - 35.0f / 3.0f + 0.5f, 0.0f, 1.0f);
        masks[y * w + x] = 1.0f - m;
        masks[w * h + y * w + x] = m;
      }
  float *guide = g_new (float, (gsize) W * H * 3);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < 3; c++)
        guide[((gsize) y * W + x) * 3 + c] = x < 333 ? 0.8f : 0.2f;
  float *up = iodine_upsample_masks (masks, 2, w, h, guide, W, H, NULL);
  g_assert_nonnull (up);
  int y = H / 2;
  printf ("# edge: %.3f %.3f %.3f %.3f\n", up[(gsize) y * W + 300], up[(gsize) y * W + 320], up[(gsize) y * W + 346], up[(gsize) y * W + 366]);
  g_assert_cmpfloat (up[(gsize) y * W + 320], >, 0.95f);
  g_assert_cmpfloat (up[(gsize) y * W + 346], <, 0.05f);
  g_assert_cmpfloat (fabsf (up[(gsize) y * W + 320] + up[(gsize) W * H + (gsize) y * W + 320] - 1.0f), <, 1e-5f);
  g_free (up);
  g_free (guide);
  g_free (masks);
}

/* The joint bilateral upsampling written out plainly, pixel by pixel
 * (Kopf et al. 2007, as upsample.c describes it: 4 × 4 model pixels,
 * spatial Gaussian σ = 1 model pixel, range Gaussian σ = 0.1 looked up in
 * the same 4096-entry table over squared distances 0…3), to check the
 * vectorised engine code against. */
static float
ref_axis (int i, int in, int out, int *first, int t)
{
  double u = (i + 0.5) * in / out - 0.5;
  *first = (int) floor (u) - 1;
  int j = *first + t;
  double d = j - u;
  return (j < 0 || j >= in) ? 0.0f : (float) exp (-d * d / 2.0);
}

static void
ref_upsample_pixel (const float *masks, int n, int w, int h, const float *low, const float *guide,
                    int W, int H, int x, int y, float *out)
{
  float lut[4096];
  for (int i = 0; i < 4096; i++)
    lut[i] = (float) exp (-((double) i / (4096 / 3.0)) / (2.0 * 0.1 * 0.1));
  const float *g = guide + ((gsize) y * W + x) * 3;
  double total = 0, sp_total = 0, acc[16] = { 0 }, sp_acc[16] = { 0 };
  for (int ty = 0; ty < 4; ty++)
    for (int tx = 0; tx < 4; tx++)
      {
        int fy, fx;
        float sp = ref_axis (y, h, H, &fy, ty) * ref_axis (x, w, W, &fx, tx);
        if (sp == 0.0f)
          continue;
        gsize li = (gsize) (fy + ty) * w + fx + tx;
        float d2 = 0;
        for (int c = 0; c < 3; c++)
          d2 += (g[c] - low[li * 3 + c]) * (g[c] - low[li * 3 + c]);
        int k = (int) (d2 * (float) (4096 / 3.0));
        float wt = sp * lut[MIN (k, 4095)];
        total += wt;
        sp_total += sp;
        for (int s = 0; s < n; s++)
          {
            acc[s] += wt * masks[(gsize) s * w * h + li];
            sp_acc[s] += sp * masks[(gsize) s * w * h + li];
          }
      }
  gboolean spatial = total < 1e-4 * sp_total;
  for (int s = 0; s < n; s++)
    out[s] = (float) CLAMP (spatial ? sp_acc[s] / sp_total : acc[s] / total, 0.0, 1.0);
}

static void
test_upsample_reference (void)
{
  /* masks that vary everywhere (no constant neighbourhood to copy), a
   * guide of noise and smooth ramps, odd sizes and both directions of
   * aspect change; every output pixel is compared with the plain version */
  static const int sizes[][4] = { { 35, 35, 411, 287 }, { 17, 23, 250, 90 }, { 64, 48, 130, 200 } };
  for (gsize c = 0; c < G_N_ELEMENTS (sizes); c++)
    {
      int w = sizes[c][0], h = sizes[c][1], W = sizes[c][2], H = sizes[c][3], K = 4;
      float *masks = g_new (float, (gsize) K * w * h);
      for (int i = 0; i < w * h; i++)
        {
          float sum = 0.0f;
          for (int k = 0; k < K; k++)
            sum += masks[k * w * h + i] = 0.1f + (float) ((i * 7 + k * 13) % 17) / 17.0f;
          for (int k = 0; k < K; k++)
            masks[k * w * h + i] /= sum;
        }
      float *guide = g_new (float, (gsize) W * H * 3);
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int ch = 0; ch < 3; ch++)
            {
              gsize i = ((gsize) y * W + x) * 3 + ch;
              guide[i] = ch == 0 ? (float) ((i * 2654435761u) % 1000) / 1000.0f
                                 : ch == 1 ? (float) x / W : (float) (y % 40) / 40.0f;
            }
      float *low = g_new (float, (gsize) w * h * 3);
      iodine_resample (guide, W, H, 3, low, w, h);
      float *up = iodine_upsample_masks (masks, K, w, h, guide, W, H, NULL);
      g_assert_nonnull (up);
      double worst = 0, worst_sum = 0;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            float ref[16];
            ref_upsample_pixel (masks, K, w, h, low, guide, W, H, x, y, ref);
            double sum = 0, rsum = 0;
            for (int k = 0; k < K; k++)
              {
                float got = up[(gsize) k * W * H + (gsize) y * W + x];
                worst = fmax (worst, fabs (got - ref[k]));
                sum += got;
                rsum += ref[k];
              }
            /* the engine renormalises to a sum of exactly 1 */
            worst_sum = fmax (worst_sum, fabs (sum - 1.0));
            (void) rsum;
          }
      printf ("# upsampling %dx%d → %dx%d: largest difference from the plain version %.2g\n", w,
              h, W, H, worst);
      g_assert_cmpfloat (worst, <, 1e-4);
      g_assert_cmpfloat (worst_sum, <, 1e-5);
      g_free (up);
      g_free (low);
      g_free (guide);
      g_free (masks);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weights_dir = g_dir_make_tmp ("iodine-plugin-XXXXXX", NULL);
  char *wpath = g_build_filename (weights_dir, "tetrominoes.safetensors", NULL);
  IodineConfig cfg;
  g_assert_true (iodine_config_preset ("tetrominoes", &cfg, NULL));
  IodineModel *model = iodine_model_new_random (&cfg, 7, NULL);
  g_assert_nonnull (model);
  g_assert_true (iodine_model_save (model, wpath, NULL, NULL));
  iodine_model_free (model);

  g_test_add_func ("/plugin/values", test_values);
  g_test_add_func ("/plugin/models", test_models);
  g_test_add_data_func ("/plugin/decompose", GINT_TO_POINTER (0), test_decompose);
  g_test_add_data_func ("/plugin/decompose-selection", GINT_TO_POINTER (1), test_decompose);
  g_test_add_func ("/plugin/driver", test_driver);
  g_test_add_func ("/plugin/upsample-edges", test_upsample_edges);
  g_test_add_func ("/plugin/upsample-reference", test_upsample_reference);
  int rc = g_test_run ();
  g_unlink (wpath);
  g_rmdir (weights_dir);
  g_free (wpath);
  return rc;
}
