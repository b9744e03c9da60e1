#include "host-gegl.h"

#include "iodine.h"

#include <glib/gi18n-lib.h>
#include <string.h>

const char *
host_mask_format (GeglBuffer *buffer)
{
  const char *name = babl_get_name (gegl_buffer_get_format (buffer));
  if (strncmp (name, "Y'", 2) == 0)
    return "Y' float";
  if (strncmp (name, "Y~", 2) == 0)
    return "Y~ float";
  return "Y float";
}

void
host_read_region (IodineRegion *region, GeglBuffer *layer, GeglBuffer *selection, int x, int y,
                  int sx, int sy, int w, int h)
{
  gegl_buffer_get (layer, GEGL_RECTANGLE (x, y, w, h), 1.0, babl_format ("R'G'B'A float"),
                   region->rgba, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  if (selection)
    gegl_buffer_get (selection, GEGL_RECTANGLE (sx, sy, w, h), 1.0,
                     babl_format (host_mask_format (selection)), region->selection,
                     GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
}

gboolean
host_strip_buffers (int w, int h, int *strip, float **rgba, float **mask, GError **error)
{
  *strip = MIN (h, IODINE_PLUGIN_STRIP_ROWS);
  *rgba = g_try_malloc ((gsize) w * *strip * 4 * sizeof (float));
  *mask = g_try_malloc ((gsize) w * *strip * sizeof (float));
  if (*rgba && *mask)
    return TRUE;
  g_free (*rgba);
  g_free (*mask);
  *rgba = *mask = NULL;
  g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY, "Out of memory");
  return FALSE;
}

void
host_write_layer (GeglBuffer *layer, GeglBuffer *mask, const IodineDecomposition *d, int i,
                  IodineContentMode content, int strip, float *rgba, float *mask_rows)
{
  int w = iodine_decomposition_width (d), h = iodine_decomposition_height (d);
  const Babl *mfmt = babl_format (host_mask_format (mask));
  for (int y0 = 0; y0 < h; y0 += strip)
    {
      int rows = MIN (strip, h - y0);
      iodine_decomposition_layer_pixels (d, i, content, y0, rows, rgba, mask_rows);
      gegl_buffer_set (layer, GEGL_RECTANGLE (0, y0, w, rows), 0, babl_format ("R'G'B'A float"),
                       rgba, GEGL_AUTO_ROWSTRIDE);
      gegl_buffer_set (mask, GEGL_RECTANGLE (0, y0, w, rows), 0, mfmt, mask_rows,
                       GEGL_AUTO_ROWSTRIDE);
    }
}
