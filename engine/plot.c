#include "plot.h"

#include "iodine-config.h"
#include "iodine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if IODINE_HAVE_CAIRO
#include <cairo.h>

typedef struct {
  double *x, *y;
  int n;
} Series;

static void
series_add (Series *s, double x, double y, int *cap)
{
  if (s->n == *cap)
    {
      *cap = *cap ? *cap * 2 : 256;
      s->x = g_renew (double, s->x, *cap);
      s->y = g_renew (double, s->y, *cap);
    }
  s->x[s->n] = x;
  s->y[s->n] = y;
  s->n++;
}

/* The line of a series in a box at (x0, y0), points marked if dots. */
static void
draw_series (cairo_t *cr, double x0, double y0, double w, double h, const Series *s, double xmax,
             double ymin, double ymax, double r, double g, double b, gboolean dots)
{
  cairo_set_source_rgb (cr, r, g, b);
  cairo_set_line_width (cr, 1.5);
  for (int pass = 0; pass < (dots ? 2 : 1); pass++)
    {
      for (int i = 0; i < s->n; i++)
        {
          double px = x0 + w * s->x[i] / xmax;
          double py = y0 + h * (1 - (fmin (fmax (s->y[i], ymin), ymax) - ymin) / (ymax - ymin));
          if (pass == 1)
            {
              cairo_arc (cr, px, py, 2.5, 0, 2 * G_PI);
              cairo_fill (cr);
            }
          else if (i == 0)
            cairo_move_to (cr, px, py);
          else
            cairo_line_to (cr, px, py);
        }
      if (pass == 0)
        cairo_stroke (cr);
    }
}

/* One panel: a series in a box at (x0, y0), with min/max labels. */
static void
panel (cairo_t *cr, double x0, double y0, double w, double h, const Series *s, const char *title,
       double ymin, double ymax, double r, double g, double b, gboolean dots)
{
  double xmax = 1;
  for (int i = 0; i < s->n; i++)
    xmax = fmax (xmax, s->x[i]);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, x0, y0, w, h);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);
  char buf[64];
  cairo_move_to (cr, x0, y0 - 6);
  cairo_show_text (cr, title);
  g_snprintf (buf, sizeof buf, "%.4g", ymax);
  cairo_move_to (cr, x0 - 58, y0 + 10);
  cairo_show_text (cr, buf);
  g_snprintf (buf, sizeof buf, "%.4g", ymin);
  cairo_move_to (cr, x0 - 58, y0 + h);
  cairo_show_text (cr, buf);
  g_snprintf (buf, sizeof buf, "step %.0f", xmax);
  cairo_move_to (cr, x0 + w - 80, y0 + h + 16);
  cairo_show_text (cr, buf);
  if (s->n == 0 || !(ymax > ymin))
    return;
  draw_series (cr, x0, y0, w, h, s, xmax, ymin, ymax, r, g, b, dots);
}

/* A second series in a panel drawn by panel() for `first`, on the same axes. */
static void
panel_series (cairo_t *cr, double x0, double y0, double w, double h, const Series *s,
              const Series *first, double ymin, double ymax, double r, double g, double b)
{
  double xmax = 1;
  for (int i = 0; i < first->n; i++)
    xmax = fmax (xmax, first->x[i]);
  for (int i = 0; i < s->n; i++)
    xmax = fmax (xmax, s->x[i]);
  draw_series (cr, x0, y0, w, h, s, xmax, ymin, ymax, r, g, b, TRUE);
}

gboolean
iodine_plot_training_log (const char *csv_path, const char *png_path, GError **error)
{
  char *text = NULL;
  if (!g_file_get_contents (csv_path, &text, NULL, error))
    return FALSE;
  char **lines = g_strsplit (text, "\n", -1);
  g_free (text);
  Series loss = { 0 }, ari = { 0 }, purity = { 0 };
  int cap_l = 0, cap_a = 0, cap_p = 0;
  double lmin = INFINITY, lmax = -INFINITY;
  for (int i = 1; lines[i]; i++)
    {
      char **f = g_strsplit (lines[i], ",", -1);
      if (g_strv_length (f) >= 7 && f[0][0])
        {
          double step = g_ascii_strtod (f[0], NULL), l = g_ascii_strtod (f[1], NULL);
          if (isfinite (l))
            {
              series_add (&loss, step, l, &cap_l);
              lmin = fmin (lmin, l);
              lmax = fmax (lmax, l);
            }
          if (f[6][0])
            series_add (&ari, step, g_ascii_strtod (f[6], NULL), &cap_a);
          if (g_strv_length (f) >= 11 && f[10][0])
            series_add (&purity, step, g_ascii_strtod (f[10], NULL), &cap_p);
        }
      g_strfreev (f);
    }
  g_strfreev (lines);
  const int W = 720, H = 520;
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (surf);
  cairo_set_source_rgb (cr, 0.95, 0.95, 0.95);
  cairo_paint (cr);
  panel (cr, 70, 30, 620, 200, &loss, "training loss  Σ_t (t/T)·L_t", lmin, lmax, 0.8, 0.2, 0.1, FALSE);
  panel (cr, 70, 290, 620, 200, &purity, "validation FG-ARI (blue) and object purity (green)",
         0.0, 1.0, 0.1, 0.6, 0.2, TRUE);
  panel_series (cr, 70, 290, 620, 200, &ari, &purity, 0.0, 1.0, 0.1, 0.3, 0.8);
  cairo_destroy (cr);
  cairo_status_t st = cairo_surface_write_to_png (surf, png_path);
  cairo_surface_destroy (surf);
  g_free (loss.x);
  g_free (loss.y);
  g_free (ari.x);
  g_free (ari.y);
  g_free (purity.x);
  g_free (purity.y);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO, "cannot write the plot %s: %s",
                   png_path, cairo_status_to_string (st));
      return FALSE;
    }
  return TRUE;
}
#else
gboolean
iodine_plot_training_log (const char *csv_path, const char *png_path, GError **error)
{
  (void) csv_path;
  g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
               "cannot draw %s: this build has no cairo", png_path);
  return FALSE;
}
#endif
