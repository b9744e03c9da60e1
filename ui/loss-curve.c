/* A small plot of the loss per refinement iteration, drawn with cairo. */
#include "loss-curve.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#define MAX_POINTS 101

typedef struct {
  float loss[MAX_POINTS];
  int n_known;
  int iterations;
} CurveData;

static CurveData *
curve_data (GtkWidget *curve)
{
  return g_object_get_data (G_OBJECT (curve), "iodine-curve-data");
}

/* A "nice" step (1, 2 or 5 × 10^n) giving about n_steps steps over range. */
static double
nice_step (double range, int n_steps)
{
  double raw = range / n_steps;
  double mag = pow (10.0, floor (log10 (raw)));
  double f = raw / mag;
  if (f <= 1.0)
    return mag;
  if (f <= 2.0)
    return 2.0 * mag;
  if (f <= 5.0)
    return 5.0 * mag;
  return 10.0 * mag;
}

static char *
format_tick (double value, double step)
{
  int decimals = step >= 1.0 ? 0 : (int) ceil (-log10 (step));
  if (fabs (value) < step * 1e-6)
    value = 0.0;
  /* U+2212 MINUS SIGN reads better than a hyphen on an axis. */
  if (value < 0)
    return g_strdup_printf ("\xe2\x88\x92%.*f", decimals, -value);
  return g_strdup_printf ("%.*f", decimals, value);
}

static void
layout_size (PangoLayout *layout, int *w, int *h)
{
  pango_layout_get_pixel_size (layout, w, h);
}

static gboolean
curve_draw (GtkWidget *widget, cairo_t *cr, gpointer user_data)
{
  CurveData *d = curve_data (widget);
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  int width = gtk_widget_get_allocated_width (widget);
  int height = gtk_widget_get_allocated_height (widget);
  GdkRGBA fg;
  PangoLayout *layout;
  PangoFontDescription *font;
  int tw, th;
  (void) user_data;

  gtk_render_background (style, cr, 0, 0, width, height);
  gtk_style_context_get_color (style, gtk_style_context_get_state (style), &fg);

  layout = gtk_widget_create_pango_layout (widget, NULL);
  font = pango_font_description_copy (pango_context_get_font_description (pango_layout_get_context (layout)));
  pango_font_description_set_size (font, MAX (6 * PANGO_SCALE,
                                              pango_font_description_get_size (font) * 8 / 10));
  pango_layout_set_font_description (layout, font);

  /* Data range */
  double ymin = 0.0, ymax = 1.0;
  if (d->n_known > 0)
    {
      ymin = ymax = d->loss[0];
      for (int i = 1; i < d->n_known; i++)
        {
          ymin = MIN (ymin, d->loss[i]);
          ymax = MAX (ymax, d->loss[i]);
        }
    }
  if (!(ymax - ymin > 1e-6 * MAX (1.0, fabs (ymax))))
    {
      double pad = MAX (1.0, fabs (ymax) * 0.05);
      ymin -= pad;
      ymax += pad;
    }
  double ystep = nice_step (ymax - ymin, 3);
  double ylo = floor (ymin / ystep) * ystep;
  double yhi = ceil (ymax / ystep) * ystep;
  int iterations = MAX (1, d->iterations);

  /* Margins from the tick labels */
  int label_w = 0, label_h = 0;
  for (double v = ylo; v <= yhi + ystep * 0.5; v += ystep)
    {
      char *s = format_tick (v, ystep);
      pango_layout_set_text (layout, s, -1);
      layout_size (layout, &tw, &th);
      label_w = MAX (label_w, tw);
      label_h = MAX (label_h, th);
      g_free (s);
    }
  /* Axis titles */
  PangoLayout *xtitle = gtk_widget_create_pango_layout (widget, _("Iteration"));
  PangoLayout *ytitle = gtk_widget_create_pango_layout (widget, _("Loss"));
  pango_layout_set_font_description (xtitle, font);
  pango_layout_set_font_description (ytitle, font);
  int xt_w, xt_h, yt_w, yt_h;
  layout_size (xtitle, &xt_w, &xt_h);
  layout_size (ytitle, &yt_w, &yt_h);

  double left = yt_h + 4 + label_w + 6;
  double right = width - 10;
  double top = label_h / 2.0 + 2;
  double bottom = height - (label_h + 2 + xt_h + 2);
  if (right - left < 20 || bottom - top < 20)
    goto out;

#define X(t) (left + (right - left) * (double) (t) / iterations)
#define Y(v) (bottom - (bottom - top) * ((v) - ylo) / (yhi - ylo))

  cairo_set_line_width (cr, 1.0);

  /* Horizontal grid lines with labels */
  for (double v = ylo; v <= yhi + ystep * 0.5; v += ystep)
    {
      double y = floor (Y (v)) + 0.5;
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.15);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, right, y);
      cairo_stroke (cr);
      char *s = format_tick (v, ystep);
      pango_layout_set_text (layout, s, -1);
      layout_size (layout, &tw, &th);
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, left - 6 - tw, y - th / 2.0);
      pango_cairo_show_layout (cr, layout);
      g_free (s);
    }

  /* X ticks */
  int xstep = iterations <= 10 ? 1 : iterations <= 20 ? 2 : 5;
  for (int t = 0; t <= iterations; t += xstep)
    {
      double x = floor (X (t)) + 0.5;
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_move_to (cr, x, bottom);
      cairo_line_to (cr, x, bottom + 3);
      cairo_stroke (cr);
      char *s = g_strdup_printf ("%d", t);
      pango_layout_set_text (layout, s, -1);
      layout_size (layout, &tw, &th);
      cairo_move_to (cr, x - tw / 2.0, bottom + 3);
      pango_cairo_show_layout (cr, layout);
      g_free (s);
    }

  /* Axes */
  gdk_cairo_set_source_rgba (cr, &fg);
  cairo_move_to (cr, floor (left) + 0.5, top);
  cairo_line_to (cr, floor (left) + 0.5, floor (bottom) + 0.5);
  cairo_line_to (cr, right, floor (bottom) + 0.5);
  cairo_stroke (cr);

  /* Axis titles */
  cairo_move_to (cr, (left + right - xt_w) / 2.0, height - xt_h - 1);
  pango_cairo_show_layout (cr, xtitle);
  cairo_save (cr);
  cairo_move_to (cr, 1, (top + bottom + yt_w) / 2.0);
  cairo_rotate (cr, -G_PI / 2);
  pango_cairo_show_layout (cr, ytitle);
  cairo_restore (cr);

  if (d->n_known == 0)
    {
      pango_layout_set_text (layout, _("No run yet"), -1);
      layout_size (layout, &tw, &th);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha * 0.6);
      cairo_move_to (cr, (left + right - tw) / 2.0, (top + bottom - th) / 2.0);
      pango_cairo_show_layout (cr, layout);
    }
  else
    {
      /* The curve, in the selection colour of the theme. */
      GdkRGBA accent = { 0.21, 0.52, 0.89, 1.0 };
      cairo_set_line_width (cr, 2.0);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
      gdk_cairo_set_source_rgba (cr, &accent);
      for (int t = 0; t < d->n_known; t++)
        {
          if (t == 0)
            cairo_move_to (cr, X (t), Y (d->loss[t]));
          else
            cairo_line_to (cr, X (t), Y (d->loss[t]));
        }
      cairo_stroke (cr);
      for (int t = 0; t < d->n_known; t++)
        {
          cairo_arc (cr, X (t), Y (d->loss[t]), t == d->n_known - 1 ? 3.5 : 2.5, 0, 2 * G_PI);
          cairo_fill (cr);
        }
    }
#undef X
#undef Y

out:
  pango_font_description_free (font);
  g_object_unref (xtitle);
  g_object_unref (ytitle);
  g_object_unref (layout);
  return TRUE;
}

GtkWidget *
iodine_loss_curve_new (void)
{
  GtkWidget *area = gtk_drawing_area_new ();
  CurveData *d = g_new0 (CurveData, 1);
  d->iterations = 5;
  g_object_set_data_full (G_OBJECT (area), "iodine-curve-data", d, g_free);
  gtk_widget_set_size_request (area, 240, 120);
  g_signal_connect (area, "draw", G_CALLBACK (curve_draw), NULL);
  return area;
}

void
iodine_loss_curve_set (GtkWidget *curve, const float *loss, int n_known, int iterations)
{
  CurveData *d = curve_data (curve);
  n_known = CLAMP (n_known, 0, MAX_POINTS);
  d->n_known = 0;
  for (int i = 0; i < n_known; i++)
    if (isfinite (loss[i]))
      d->loss[d->n_known++] = loss[i];
    else
      break;
  d->iterations = CLAMP (iterations, 1, MAX_POINTS - 1);
  gtk_widget_queue_draw (curve);
}
