/* iodine-bench-plugin: the plug-in's GIMP-independent stages on a large
 * image (default 4000×3000): reading is GIMP's, then resizing to the model's
 * size, the model, the edge-aware mask upsampling, and producing every
 * layer's pixels and mask, strip by strip as the hosts write them. Prints
 * the time of each stage; writing into GIMP's buffers is not included.
 *
 *   iodine-bench-plugin [--size WxH] [--slots K] [--weights FILE] [--threads N] */
#include "decompose.h"
#include "host.h"
#include "image_io.h"
#include "iodine.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

int
main (int argc, char **argv)
{
  iodine_blas_prefer_fast_kernels (argv);
  int slots = 4, threads = 0;
  char *size = NULL, *weights = NULL;
  GOptionEntry entries[] = {
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Image size (default 4000x3000)", "WxH" },
    { "slots", 0, 0, G_OPTION_ARG_INT, &slots, "K (default 4)", "K" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Weights (default: a random Tetrominoes model)", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("— time the plug-in's stages");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  g_option_context_free (ctx);
  int W = 4000, H = 3000;
  if (size && sscanf (size, "%dx%d", &W, &H) != 2)
    return 2;
  iodine_blas_set_threads (threads);
  IodineModel *model;
  if (weights)
    model = iodine_model_load (weights, &error);
  else
    {
      IodineConfig c;
      iodine_config_preset ("tetrominoes", &c, NULL);
      model = iodine_model_new_random (&c, 1, &error);
    }
  if (!model)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  /* a picture with edges: discs and bars of a few colours on a gradient */
  IodineRegion *region = iodine_region_new (W, H, FALSE, &error);
  g_assert_no_error (error);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        float *p = region->rgba + ((size_t) y * W + x) * 4;
        float gy = (float) y / H;
        p[0] = p[1] = p[2] = 0.6f + 0.3f * gy;
        double dx = x - 0.3 * W, dy = y - 0.4 * H;
        if (dx * dx + dy * dy < 0.04 * W * W)
          p[0] = 0.9f, p[1] = 0.2f, p[2] = 0.2f;
        else if (x > 0.55 * W && x < 0.85 * W && y > 0.3 * H && y < 0.7 * H)
          p[0] = 0.2f, p[1] = 0.6f, p[2] = 0.3f;
        p[3] = 1.0f;
      }
  IodineDecomposeValues values;
  iodine_decompose_values_init (&values);
  values.slots = slots;
  values.seed = 1;

  /* the model alone, at its size, to split the compute stage */
  const IodineConfig *c = iodine_model_config (model);
  float *small = g_new0 (float, (size_t) c->height * c->width * 3);
  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.slots = slots;
  opt.seed = 1;
  double t0 = now ();
  iodine_result_free (iodine_decompose (model, small, c->height, c->width, &opt, NULL));
  double t_model = now () - t0;
  g_free (small);

  t0 = now ();
  IodineDecomposition *d = iodine_decomposition_compute (model, region, &values, NULL, NULL, &error);
  double t_compute = now () - t0;
  if (!d)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  int n = iodine_decomposition_n_layers (d);
  int strip = MIN (H, IODINE_PLUGIN_STRIP_ROWS);
  float *rgba = g_new (float, (size_t) W * strip * 4), *mask = g_new (float, (size_t) W * strip);
  t0 = now ();
  for (int i = 0; i < n; i++)
    for (int y0 = 0; y0 < H; y0 += strip)
      iodine_decomposition_layer_pixels (d, i, IODINE_CONTENT_ORIGINAL, y0, MIN (strip, H - y0),
                                         rgba, mask);
  double t_layers = now () - t0;
  printf ("%d×%d, K %d, model %d×%d, %d layers\n", W, H, slots, c->width, c->height, n);
  printf ("  model (T %d iterations)            %6.3f s\n", c->iterations, t_model);
  printf ("  resize + masks upsampled (rest)    %6.3f s\n", t_compute - t_model);
  printf ("  layer pixels and masks             %6.3f s\n", t_layers);
  printf ("  total before GIMP's buffers        %6.3f s\n", t_compute + t_layers);
  g_free (rgba);
  g_free (mask);
  iodine_decomposition_free (d);
  iodine_model_free (model);
  return 0;
}
