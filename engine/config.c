/* Architecture presets (spec §4) and validation of a configuration. */
#include "iodine.h"

#include <string.h>

static void
preset_common (IodineConfig *c)
{
  memset (c, 0, sizeof *c);
  c->iterations = 5;
  c->dec_layers = 4;
  c->dec_channels = 32;
  c->dec_kernel = 5;
  c->ref_layers = 3;
  c->ref_channels = 32;
  c->ref_kernel = 5;
  c->mlp_layers = 1;
  c->mlp_sizes[0] = 128;
  c->coords = IODINE_COORDS_COS3;
  c->pixel_scale = 0.03f;
}

gboolean
iodine_config_preset (const char *name, IodineConfig *c, GError **error)
{
  preset_common (c);
  if (g_strcmp0 (name, "tetrominoes") == 0)
    {
      c->height = c->width = 35;
      c->slots = 4;
      c->latent = 32;
    }
  else if (g_strcmp0 (name, "multi-dsprites") == 0)
    {
      c->height = c->width = 64;
      c->slots = 6;
      c->latent = 16;
      c->lstm_hidden = 128;
    }
  else if (g_strcmp0 (name, "general") == 0)
    {
      /* the plug-in's default model (not in the spec): the Tetrominoes
       * architecture (M 32, no LSTM) at Multi-dSprites' size and K, so
       * that it can start from trained Tetrominoes weights (weights/README.md)
       * and be fine-tuned on the "scenes" mix */
      c->height = c->width = 64;
      c->slots = 6;
      c->latent = 32;
    }
  else if (g_strcmp0 (name, "clevr") == 0)
    {
      c->height = c->width = 128;
      c->slots = 7;
      c->latent = 64;
      c->dec_channels = 64;
      c->dec_kernel = 3;
      c->ref_layers = 4;
      c->ref_channels = 64;
      c->ref_kernel = 3;
      c->mlp_layers = 2;
      c->mlp_sizes[0] = c->mlp_sizes[1] = 256;
      c->lstm_hidden = 256;
      c->coords = IODINE_COORDS_LINEAR;
    }
  else
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "unknown configuration “%s” (expected tetrominoes, multi-dsprites, clevr or general)",
                   name ? name : "(null)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_range (const char *what, int v, int lo, int hi, GError **error)
{
  if (v < lo || v > hi)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%s is %d; it must be between %d and %d", what, v, lo, hi);
      return FALSE;
    }
  return TRUE;
}

gboolean
iodine_config_validate (const IodineConfig *c, GError **error)
{
  if (!check_range ("height", c->height, 2, 4096, error)
      || !check_range ("width", c->width, 2, 4096, error)
      || !check_range ("slots", c->slots, IODINE_MIN_SLOTS, IODINE_MAX_SLOTS, error)
      || !check_range ("iterations", c->iterations, 1, IODINE_MAX_ITERATIONS, error)
      || !check_range ("latent size", c->latent, 1, 1024, error)
      || !check_range ("decoder layers", c->dec_layers, 1, 16, error)
      || !check_range ("decoder channels", c->dec_channels, 1, 1024, error)
      || !check_range ("decoder kernel", c->dec_kernel, 1, 15, error)
      || !check_range ("refinement layers", c->ref_layers, 1, 16, error)
      || !check_range ("refinement channels", c->ref_channels, 1, 1024, error)
      || !check_range ("refinement kernel", c->ref_kernel, 1, 15, error)
      || !check_range ("MLP layers", c->mlp_layers, 1, IODINE_MAX_MLP, error)
      || !check_range ("LSTM size", c->lstm_hidden, 0, 4096, error))
    return FALSE;
  for (int i = 0; i < c->mlp_layers; i++)
    if (!check_range ("MLP layer size", c->mlp_sizes[i], 1, 8192, error))
      return FALSE;
  if (c->dec_kernel % 2 == 0 || c->ref_kernel % 2 == 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "kernel sizes must be odd (decoder %d, refinement %d)",
                   c->dec_kernel, c->ref_kernel);
      return FALSE;
    }
  if (c->coords != IODINE_COORDS_COS3 && c->coords != IODINE_COORDS_LINEAR)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID, "unknown coordinate channels %d",
                   (int) c->coords);
      return FALSE;
    }
  if (!(c->pixel_scale > 1e-4f && c->pixel_scale < 10.0f))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "pixel scale %g is outside (0.0001, 10)", (double) c->pixel_scale);
      return FALSE;
    }
  return TRUE;
}

int
iodine_config_coord_channels (const IodineConfig *c)
{
  return c->coords == IODINE_COORDS_COS3 ? 8 : 2;
}

int
iodine_config_refine_inputs (const IodineConfig *c)
{
  return 15 + iodine_config_coord_channels (c);
}
