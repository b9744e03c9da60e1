/* Pictures of decompositions, on plain float RGB buffers.
 *
 * Sheet layout (like the paper's Figure 4), one row per result:
 *   input | reconstruction | segmentation | slot 0 | slot 1 | ...
 * where a slot cell shows mask × means over a checkerboard, so that the part
 * of the picture a slot explains stands out and the rest reads as "empty". */
#include "sheet.h"
#include "image_io.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define GAP 2         /* pixels between cells */
#define CHECKER 8     /* checker square side in sheet pixels */

/* Distinct, saturated first; beyond that, golden-ratio hues. */
static const float palette[12][3] = {
  { 0.90f, 0.10f, 0.10f }, { 0.10f, 0.60f, 0.90f }, { 0.20f, 0.75f, 0.20f },
  { 0.95f, 0.80f, 0.10f }, { 0.60f, 0.25f, 0.80f }, { 1.00f, 0.50f, 0.05f },
  { 0.10f, 0.80f, 0.75f }, { 0.95f, 0.40f, 0.70f }, { 0.55f, 0.35f, 0.15f },
  { 0.50f, 0.50f, 0.50f }, { 0.60f, 0.85f, 0.30f }, { 0.15f, 0.25f, 0.65f },
};

void
iodine_slot_colour (int k, float rgb[3])
{
  if (k >= 0 && k < 12)
    {
      memcpy (rgb, palette[k], sizeof palette[k]);
      return;
    }
  double h = fmod (0.1 + 0.6180339887 * (k < 0 ? -k : k), 1.0) * 6.0;
  double v = (k % 2) ? 0.95 : 0.75, s = 0.8;
  int i = (int) h;
  double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double c[6][3] = { { v, t, p }, { q, v, p }, { p, v, t }, { p, q, v }, { t, p, v }, { v, p, q } };
  for (int j = 0; j < 3; j++)
    rgb[j] = (float) c[i % 6][j];
}

static gboolean
result_ok (const IodineResult *r)
{
  return r && r->slots > 0 && r->height > 0 && r->width > 0 && r->image && r->masks && r->means;
}

void
iodine_result_reconstruction (const IodineResult *r, float *out)
{
  size_t n = (size_t) r->height * r->width;
  memset (out, 0, n * 3 * sizeof (float));
  for (int k = 0; k < r->slots; k++)
    {
      const float *m = r->masks + k * n, *mu = r->means + k * n * 3;
      for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
          out[i * 3 + c] += m[i] * mu[i * 3 + c];
    }
}

static float
clamp01 (float v)
{
  return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
}

static int
argmax_slot (const IodineResult *r, size_t i)
{
  size_t n = (size_t) r->height * r->width;
  int best = 0;
  for (int k = 1; k < r->slots; k++)
    if (r->masks[k * n + i] > r->masks[best * n + i])
      best = k;
  return best;
}

void
iodine_sheet_size (IodineResult *const *results, int n_results, int zoom, int *width,
                   int *height)
{
  int mh = 0, mw = 0, mk = 0;
  for (int i = 0; i < n_results; i++)
    if (result_ok (results[i]))
      {
        mh = MAX (mh, results[i]->height);
        mw = MAX (mw, results[i]->width);
        mk = MAX (mk, results[i]->slots);
      }
  zoom = MAX (zoom, 1);
  *width = GAP + (3 + mk) * (mw * zoom + GAP);
  *height = GAP + MAX (n_results, 0) * (mh * zoom + GAP);
}

/* Copies a [h, w, 3] picture into the sheet at (x0, y0), zoomed. */
static void
blit (float *sheet, int sw, const float *pic, int h, int w, int zoom, int x0, int y0)
{
  for (int y = 0; y < h * zoom; y++)
    for (int x = 0; x < w * zoom; x++)
      {
        const float *s = pic + ((size_t) (y / zoom) * w + x / zoom) * 3;
        float *d = sheet + ((size_t) (y0 + y) * sw + x0 + x) * 3;
        for (int c = 0; c < 3; c++)
          d[c] = clamp01 (s[c]);
      }
}

float *
iodine_sheet_render (IodineResult *const *results, int n_results, int zoom, int *width,
                     int *height)
{
  if (results == NULL || n_results <= 0 || zoom < 1 || zoom > 64)
    return NULL;
  for (int i = 0; i < n_results; i++)
    if (!result_ok (results[i]))
      return NULL;
  int sw, sh;
  iodine_sheet_size (results, n_results, zoom, &sw, &sh);
  if ((double) sw * sh > 1e8)
    return NULL;
  float *sheet = g_new (float, (size_t) sw * sh * 3);
  for (size_t i = 0; i < (size_t) sw * sh * 3; i++)
    sheet[i] = 1.0f; /* white gaps */

  int mh = 0, mw = 0;
  for (int i = 0; i < n_results; i++)
    {
      mh = MAX (mh, results[i]->height);
      mw = MAX (mw, results[i]->width);
    }
  int cw = mw * zoom + GAP, ch = mh * zoom + GAP;

  for (int row = 0; row < n_results; row++)
    {
      const IodineResult *r = results[row];
      int h = r->height, w = r->width;
      size_t n = (size_t) h * w;
      int y0 = GAP + row * ch;
      float *pic = g_new (float, n * 3);

      blit (sheet, sw, r->image, h, w, zoom, GAP, y0);
      iodine_result_reconstruction (r, pic);
      blit (sheet, sw, pic, h, w, zoom, GAP + cw, y0);
      for (size_t i = 0; i < n; i++)
        iodine_slot_colour (argmax_slot (r, i), pic + i * 3);
      blit (sheet, sw, pic, h, w, zoom, GAP + 2 * cw, y0);

      for (int k = 0; k < r->slots; k++)
        {
          int x0 = GAP + (3 + k) * cw;
          const float *m = r->masks + k * n, *mu = r->means + k * n * 3;
          for (int y = 0; y < h * zoom; y++)
            for (int x = 0; x < w * zoom; x++)
              {
                size_t i = (size_t) (y / zoom) * w + x / zoom;
                float a = clamp01 (m[i]);
                float bg = ((x / CHECKER + y / CHECKER) % 2) ? 0.55f : 0.75f;
                float *d = sheet + ((size_t) (y0 + y) * sw + x0 + x) * 3;
                for (int c = 0; c < 3; c++)
                  d[c] = a * clamp01 (mu[i * 3 + c]) + (1.0f - a) * bg;
              }
        }
      g_free (pic);
    }
  *width = sw;
  *height = sh;
  return sheet;
}

gboolean
iodine_sheet_write (const char *path, IodineResult *const *results, int n_results, int zoom,
                    GError **error)
{
  int w = 0, h = 0;
  float *sheet = iodine_sheet_render (results, n_results, zoom, &w, &h);
  if (sheet == NULL)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%s: cannot draw a sheet of %d results at zoom %d "
                   "(empty or malformed result, or zoom outside 1..64, or too large)",
                   path, n_results, zoom);
      return FALSE;
    }
  gboolean ok = iodine_png_write (path, sheet, w, h, 3, error);
  g_free (sheet);
  return ok;
}

gboolean
iodine_result_write_pngs (const IodineResult *r, const char *dir, GError **error)
{
  if (!result_ok (r))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%s: cannot write pictures of an empty or malformed result", dir);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
                   "%s: cannot create the folder: %s", dir, g_strerror (errno));
      return FALSE;
    }
  size_t n = (size_t) r->height * r->width;
  float *rgba = g_new (float, n * 4);
  gboolean ok = TRUE;
  for (int k = 0; k < r->slots && ok; k++)
    {
      const float *m = r->masks + k * n, *mu = r->means + k * n * 3;
      char *name = g_strdup_printf ("slot-%d-mask.png", k);
      char *path = g_build_filename (dir, name, NULL);
      ok = iodine_png_write (path, m, r->width, r->height, 1, error);
      g_free (name);
      g_free (path);
      if (!ok)
        break;

      name = g_strdup_printf ("slot-%d-means.png", k);
      path = g_build_filename (dir, name, NULL);
      ok = iodine_png_write (path, mu, r->width, r->height, 3, error);
      g_free (name);
      g_free (path);
      if (!ok)
        break;

      for (size_t i = 0; i < n; i++)
        {
          memcpy (rgba + i * 4, mu + i * 3, 3 * sizeof (float));
          rgba[i * 4 + 3] = m[i];
        }
      name = g_strdup_printf ("slot-%d-object.png", k);
      path = g_build_filename (dir, name, NULL);
      ok = iodine_png_write (path, rgba, r->width, r->height, 4, error);
      g_free (name);
      g_free (path);
    }
  g_free (rgba);
  if (!ok)
    return FALSE;

  /* Overview cells of at least ~128 pixels. */
  int side = MAX (r->height, r->width);
  int zoom = CLAMP ((128 + side - 1) / side, 1, 8);
  char *path = g_build_filename (dir, "overview.png", NULL);
  IodineResult *one[1] = { (IodineResult *) r };
  ok = iodine_sheet_write (path, one, 1, zoom, error);
  g_free (path);
  return ok;
}
