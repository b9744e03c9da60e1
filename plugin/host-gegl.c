#include "host-gegl.h"

#include "iodine.h"

#include <glib/gi18n-lib.h>
#include <math.h>
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

gboolean
host_mask_starts_white (const IodineDecomposition *d, int i)
{
  return iodine_decomposition_layer_area (d, i) > 0.5;
}

/* The largest distance from the fill value that the mask's own storage
 * rounds back to it: blocks within it need not be written at all. */
static float
mask_unchanged_below (GeglBuffer *mask)
{
  const Babl *type = babl_format_get_type (gegl_buffer_get_format (mask), 0);
  if (type == babl_type ("u8"))
    return 0.49f / 255.0f;
  if (type == babl_type ("u16"))
    return 0.49f / 65535.0f;
  return 0.0f; /* half, float, u32: only exact values */
}

/* Whether every value of the w × h block (rows stride floats apart) stays
 * the fill value once stored. */
static gboolean
block_is_fill (const float *m, int stride, int w, int h, float fill, float tolerance)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (fabsf (m[(gsize) y * stride + x] - fill) > tolerance)
        return FALSE;
  return TRUE;
}


void
host_write_layer (GeglBuffer *layer, GeglBuffer *mask, const IodineDecomposition *d, int i,
                  IodineContentMode content, int strip, float *rgba, float *mask_rows,
                  gboolean mask_white)
{
  int w = iodine_decomposition_width (d), h = iodine_decomposition_height (d);
  const Babl *mfmt = babl_format (host_mask_format (mask));
  const float fill = mask_white ? 1.0f : 0.0f, tolerance = mask_unchanged_below (mask);
  /* blocks are the mask's tiles, which libgimp sends to GIMP one round trip
   * each: a block left at the fill value is not sent at all, and a written
   * block covers its whole tile (a partial one would be fetched first) */
  int tw = 64, th = 64;
  g_object_get (mask, "tile-width", &tw, "tile-height", &th, NULL);
  tw = CLAMP (tw, 16, 1024);
  th = CLAMP (th, 16, 1024);
  for (int y0 = 0; y0 < h; y0 += strip)
    {
      int rows = MIN (strip, h - y0);
      iodine_decomposition_layer_pixels (d, i, content, y0, rows, rgba, mask_rows);
      gegl_buffer_set (layer, GEGL_RECTANGLE (0, y0, w, rows), 0, babl_format ("R'G'B'A float"),
                       rgba, GEGL_AUTO_ROWSTRIDE);
      /* rows of blocks aligned to the tile grid (strips need not be) */
      for (int by = 0, next; by < rows; by = next)
        {
          /* the strip row where the next tile row starts */
          next = MIN ((y0 + by) / th * th + th - y0, rows);
          for (int bx = 0; bx < w; bx += tw)
            {
              int bw = MIN (tw, w - bx), bh = next - by;
              const float *m = mask_rows + (gsize) by * w + bx;
              if (!block_is_fill (m, w, bw, bh, fill, tolerance))
                gegl_buffer_set (mask, GEGL_RECTANGLE (bx, y0 + by, bw, bh), 0, mfmt, m,
                                 (gint) (w * sizeof (float)));
            }
        }
    }
}
