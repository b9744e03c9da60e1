/* The "Decompose into Objects" dialog, GTK 3, laid out like GIMP's own
 * plug-in dialogs: a preview on the left, the settings in titled frames on
 * the right, Help / Reset / Cancel / OK.
 *
 * The preview runs on a worker thread, one run at a time. A value change
 * cancels the running one (its progress callback returns FALSE) and starts
 * a new one after a short pause, so that dragging a slider computes once.
 * Models are loaded on the worker, once per path, and kept for the life of
 * the dialog. */
#define G_LOG_DOMAIN "iodine-dialog"
#include "iodine-dialog.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "iodine.h"
#include "loss-curve.h"
#include "sheet.h"

#define RESPONSE_RESET 1
#define PREVIEW_SIZE 360      /* long side of the preview area, pixels */
#define THUMB_SIZE 52         /* per-slot thumbnails, pixels, at most */
#define THUMB_SPACING 6
#define COALESCE_MS 150       /* pause after a change before computing */
/* Seeds the spin button offers: what GIMP's int procedure argument holds */
#define SEED_MAX G_MAXINT32
#define OVERLAY_ALPHA 0.5

typedef struct Dialog Dialog;
typedef struct Job Job;

typedef struct {
  IodineModel *model;
  char *description;
} ModelEntry;

struct Dialog {
  gint ref;

  /* Shared with the worker: the image is read-only, the cache is locked. */
  IodineImage *image;
  GMutex lock;
  GHashTable *models;            /* path → ModelEntry */

  /* Main thread only. */
  gboolean closed;
  IodineModelChoice *choices;    /* copies of setup->models */
  int n_choices;

  GtkWidget *dialog, *ok_button;
  GtkWidget *preview_area, *preview_toggle, *spinner, *status_label, *resample_button;
  GtkWidget *thumbs_box, *thumbs_placeholder;
  int thumbs_width;              /* room for the thumbnails, pixels */
  GtkWidget *curve;
  GtkWidget *model_combo, *model_info, *model_error_box, *model_error_label;
  GtkAdjustment *slots_adj, *iterations_adj, *restarts_adj, *seed_adj;
  GtkWidget *slots_spin, *seed_spin, *seed_button, *deterministic_check;
  GtkWidget *content_original, *content_reconstruction;

  char *combo_id;                /* the active model entry, not "other" */
  gboolean updating;             /* widgets are being set by the program */

  GThread *thread;
  Job *running;
  gboolean pending;
  guint timeout_id;

  cairo_surface_t *image_surface;
  cairo_surface_t *overlay;
  float loss[IODINE_ITERATIONS_MAX + 1];
  int n_loss;
};

struct Job {
  gint ref;
  Dialog *d;
  /* Inputs */
  char *path;
  gboolean load_only;
  int slots, iterations, restarts;
  guint64 seed;
  gboolean deterministic;
  gint cancelled;
  /* Outputs, written by the worker before it hands the job back */
  char *model_error;
  char *model_description;
  int model_width, model_height;
  char *error;
  gboolean done;
  cairo_surface_t *overlay;
  cairo_surface_t *thumbs[IODINE_SLOTS_MAX];
  float coverage[IODINE_SLOTS_MAX];
  int n_thumbs;
  float loss[IODINE_ITERATIONS_MAX + 1];
  int n_loss;
};

static IodineDialogPreviewHook preview_hook;
static gpointer preview_hook_data;

void
iodine_dialog_set_preview_hook (IodineDialogPreviewHook func, gpointer data)
{
  preview_hook = func;
  preview_hook_data = data;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */

static void
model_entry_free (gpointer data)
{
  ModelEntry *e = data;
  iodine_model_free (e->model);
  g_free (e->description);
  g_free (e);
}

static Dialog *
dialog_ref (Dialog *d)
{
  g_atomic_int_inc (&d->ref);
  return d;
}

static void
dialog_unref (Dialog *d)
{
  if (!g_atomic_int_dec_and_test (&d->ref))
    return;
  g_hash_table_destroy (d->models);
  g_mutex_clear (&d->lock);
  if (d->image)
    iodine_image_free (d->image);
  for (int i = 0; i < d->n_choices; i++)
    {
      g_free ((char *) d->choices[i].name);
      g_free ((char *) d->choices[i].path);
    }
  g_free (d->choices);
  g_free (d->combo_id);
  if (d->image_surface)
    cairo_surface_destroy (d->image_surface);
  if (d->overlay)
    cairo_surface_destroy (d->overlay);
  g_free (d);
}

static Job *
job_ref (Job *job)
{
  g_atomic_int_inc (&job->ref);
  return job;
}

static void
job_unref (Job *job)
{
  if (!g_atomic_int_dec_and_test (&job->ref))
    return;
  g_free (job->path);
  g_free (job->model_error);
  g_free (job->model_description);
  g_free (job->error);
  if (job->overlay)
    cairo_surface_destroy (job->overlay);
  for (int k = 0; k < job->n_thumbs; k++)
    cairo_surface_destroy (job->thumbs[k]);
  dialog_unref (job->d);
  g_free (job);
}

/* ------------------------------------------------------------------ */
/* Worker thread                                                       */

static char *
describe_model (const IodineModel *model)
{
  const IodineConfig *cfg = iodine_model_config (model);
  const char *dataset = iodine_model_metadata (model, "dataset");
  const char *fg_ari = iodine_model_metadata (model, "fg_ari");
  GString *s = g_string_new (NULL);

  if (dataset && *dataset)
    /* TRANSLATORS: %s is the name of a data set, e.g. "tetrominoes" */
    g_string_printf (s, _("Trained on %s at %d × %d pixels"), dataset, cfg->width, cfg->height);
  else
    g_string_printf (s, _("Trained at %d × %d pixels"), cfg->width, cfg->height);
  if (fg_ari && *fg_ari)
    {
      char *end = NULL;
      double v = g_ascii_strtod (fg_ari, &end);
      if (end != fg_ari)
        {
          g_string_append (s, "\n");
          /* TRANSLATORS: FG-ARI is the paper's segmentation score, keep it as is */
          g_string_append_printf (s, _("Segmentation score (FG-ARI): %.2f"), v);
        }
    }
  return g_string_free (s, FALSE);
}

/* The model for path, loaded on first use. Failures are not kept, so that
 * a file fixed meanwhile loads the next time. */
static ModelEntry *
get_model (Dialog *d, const char *path, char **error_message)
{
  ModelEntry *e;
  GError *error = NULL;
  IodineModel *model;

  g_mutex_lock (&d->lock);
  e = g_hash_table_lookup (d->models, path);
  g_mutex_unlock (&d->lock);
  if (e)
    return e;

  model = iodine_model_load (path, &error);
  if (!model)
    {
      *error_message = g_strdup (error ? error->message : _("The model could not be loaded."));
      g_clear_error (&error);
      return NULL;
    }
  e = g_new0 (ModelEntry, 1);
  e->model = model;
  e->description = describe_model (model);
  g_mutex_lock (&d->lock);
  g_hash_table_insert (d->models, g_strdup (path), e);
  g_mutex_unlock (&d->lock);
  return e;
}

static guint32
rgb24 (float r, float g, float b)
{
  int ir = (int) lrintf (CLAMP (r, 0.f, 1.f) * 255.f);
  int ig = (int) lrintf (CLAMP (g, 0.f, 1.f) * 255.f);
  int ib = (int) lrintf (CLAMP (b, 0.f, 1.f) * 255.f);
  return ((guint32) ir << 16) | ((guint32) ig << 8) | (guint32) ib;
}

static cairo_surface_t *
surface_from_rgb (const float *rgb, int width, int height)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  unsigned char *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  cairo_surface_flush (surface);
  for (int y = 0; y < height; y++)
    {
      guint32 *row = (guint32 *) (data + (size_t) y * stride);
      for (int x = 0; x < width; x++)
        {
          const float *p = rgb + ((size_t) y * width + x) * 3;
          row[x] = rgb24 (p[0], p[1], p[2]);
        }
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

/* Bilinear sample positions from an output axis of n to a source of m. */
static void
axis_weights (int n, int m, int *i0, int *i1, float *f)
{
  for (int i = 0; i < n; i++)
    {
      float s = ((float) i + 0.5f) * (float) m / (float) n - 0.5f;
      s = CLAMP (s, 0.f, (float) (m - 1));
      int a = (int) floorf (s);
      i0[i] = a;
      i1[i] = MIN (a + 1, m - 1);
      f[i] = s - (float) a;
    }
}

/* The image at its preview size, blended with the colour of the slot with
 * the largest (upsampled) mask at each pixel, with darker outlines where
 * the slot changes. */
static cairo_surface_t *
render_overlay (const IodineImage *image, const IodineResult *r)
{
  int w = image->width, h = image->height, K = r->slots;
  int rw = r->width, rh = r->height;
  size_t plane = (size_t) rw * rh;
  int *x0 = g_new (int, w), *x1 = g_new (int, w);
  int *y0 = g_new (int, h), *y1 = g_new (int, h);
  float *fx = g_new (float, w), *fy = g_new (float, h);
  guint8 *label = g_new (guint8, (size_t) w * h);
  float *colours = g_new (float, 3 * K);
  float *out = g_new (float, (size_t) w * h * 3);
  cairo_surface_t *surface;

  axis_weights (w, rw, x0, x1, fx);
  axis_weights (h, rh, y0, y1, fy);
  for (int k = 0; k < K; k++)
    iodine_slot_colour (k, colours + 3 * k);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int best = 0;
        float best_v = -1.f;
        for (int k = 0; k < K; k++)
          {
            const float *m = r->masks + k * plane;
            float top = m[y0[y] * rw + x0[x]] * (1 - fx[x]) + m[y0[y] * rw + x1[x]] * fx[x];
            float bot = m[y1[y] * rw + x0[x]] * (1 - fx[x]) + m[y1[y] * rw + x1[x]] * fx[x];
            float v = top * (1 - fy[y]) + bot * fy[y];
            if (v > best_v)
              {
                best_v = v;
                best = k;
              }
          }
        label[(size_t) y * w + x] = (guint8) best;
      }

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        size_t i = (size_t) y * w + x;
        int k = label[i];
        gboolean edge = (x + 1 < w && label[i + 1] != k) || (y + 1 < h && label[i + w] != k);
        const float *p = image->rgb + i * 3;
        const float *col = colours + 3 * k;
        for (int c = 0; c < 3; c++)
          out[i * 3 + c] = edge ? col[c] * 0.55f
                                : p[c] * (1.f - OVERLAY_ALPHA) + col[c] * OVERLAY_ALPHA;
      }
  surface = surface_from_rgb (out, w, h);

  g_free (x0);
  g_free (x1);
  g_free (y0);
  g_free (y1);
  g_free (fx);
  g_free (fy);
  g_free (label);
  g_free (colours);
  g_free (out);
  return surface;
}

static void
render_result (Job *job, const IodineImage *image, const IodineResult *r)
{
  size_t plane = (size_t) r->width * r->height;
  float *obj = g_new (float, plane * 3);

  job->n_loss = MIN (r->iterations + 1, IODINE_ITERATIONS_MAX + 1);
  memcpy (job->loss, r->loss, sizeof (float) * job->n_loss);

  job->overlay = render_overlay (image, r);

  job->n_thumbs = MIN (r->slots, IODINE_SLOTS_MAX);
  for (int k = 0; k < job->n_thumbs; k++)
    {
      const float *m = r->masks + k * plane;
      const float *mu = r->means + k * plane * 3;
      double sum = 0;
      for (size_t i = 0; i < plane; i++)
        {
          sum += m[i];
          for (int c = 0; c < 3; c++)
            obj[i * 3 + c] = m[i] * CLAMP (mu[i * 3 + c], 0.f, 1.f);
        }
      job->coverage[k] = (float) (sum / plane);
      job->thumbs[k] = surface_from_rgb (obj, r->width, r->height);
    }
  g_free (obj);
}

/* The engine's report, carried to the main thread */
typedef struct {
  Job *job;
  IodineProgress report;
} Progress;

static gboolean progress_idle (gpointer data);
static gboolean job_done_idle (gpointer data);

static gboolean
job_progress (const IodineProgress *progress, gpointer user_data)
{
  Job *job = user_data;
  Progress *p = g_new (Progress, 1);
  p->job = job_ref (job);
  p->report = *progress;
  g_idle_add (progress_idle, p);
  return !g_atomic_int_get (&job->cancelled);
}

static gpointer
worker_main (gpointer data)
{
  Job *job = data;
  Dialog *d = job->d;
  ModelEntry *e = get_model (d, job->path, &job->model_error);
  const IodineConfig *cfg;
  IodineImage *small = NULL;
  IodineResult *r = NULL;
  IodineRunOptions options;
  GError *error = NULL;

  if (!e)
    goto out;
  job->model_description = g_strdup (e->description);
  cfg = iodine_model_config (e->model);
  job->model_width = cfg->width;
  job->model_height = cfg->height;
  if (job->load_only || !d->image || g_atomic_int_get (&job->cancelled))
    goto out;

  small = iodine_image_resize (d->image, cfg->width, cfg->height);
  if (!small)
    {
      job->error = g_strdup (_("The preview image could not be resized to the model's size."));
      goto out;
    }
  iodine_run_options_init (&options);
  options.slots = job->slots;
  options.iterations = job->iterations;
  options.restarts = job->restarts;
  options.seed = job->seed;
  options.deterministic = job->deterministic;
  options.progress = job_progress;
  options.progress_data = job;
  r = iodine_decompose (e->model, small->rgb, small->height, small->width, &options, &error);
  if (!r)
    {
      if (!g_error_matches (error, IODINE_ERROR, IODINE_ERROR_CANCELLED))
        job->error = g_strdup (error ? error->message : _("The decomposition failed."));
      g_clear_error (&error);
      goto out;
    }
  render_result (job, d->image, r);
  job->done = TRUE;

out:
  if (r)
    iodine_result_free (r);
  if (small)
    iodine_image_free (small);
  g_idle_add (job_done_idle, job); /* hands over the worker's reference */
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Scheduling (main thread)                                            */

static const char *
model_path_for_id (Dialog *d, const char *id)
{
  if (!id)
    return NULL;
  if (g_str_has_prefix (id, "model:"))
    {
      int i = atoi (id + 6);
      return i >= 0 && i < d->n_choices ? d->choices[i].path : NULL;
    }
  if (g_str_has_prefix (id, "file:"))
    return id + 5;
  return NULL;
}

static void
set_status (Dialog *d, const char *text, gboolean busy)
{
  gtk_label_set_text (GTK_LABEL (d->status_label), text);
  gtk_widget_set_tooltip_text (d->status_label, text && *text ? text : NULL);
  if (busy)
    gtk_spinner_start (GTK_SPINNER (d->spinner));
  else
    gtk_spinner_stop (GTK_SPINNER (d->spinner));
  gtk_widget_set_opacity (d->spinner, busy ? 1.0 : 0.0);
}

static void
show_model_error (Dialog *d, const char *message)
{
  if (message)
    {
      gtk_label_set_text (GTK_LABEL (d->model_error_label), message);
      gtk_widget_show (d->model_error_box);
      gtk_widget_hide (d->model_info);
    }
  else
    gtk_widget_hide (d->model_error_box);
  gtk_widget_set_sensitive (d->ok_button, message == NULL);
}

static void
clear_result (Dialog *d)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (d->thumbs_box));
  for (GList *l = children; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (children);
  gtk_widget_show (d->thumbs_placeholder);
  if (d->overlay)
    cairo_surface_destroy (d->overlay);
  d->overlay = NULL;
  d->n_loss = 0;
  iodine_loss_curve_set (d->curve, d->loss, 0, (int) gtk_adjustment_get_value (d->iterations_adj));
  gtk_widget_queue_draw (d->preview_area);
}

static void
finish (Dialog *d, gboolean success, const char *message)
{
  if (preview_hook && !d->running && !d->pending && !d->timeout_id)
    preview_hook (d->dialog, success, message, preview_hook_data);
}

static void
start_job (Dialog *d)
{
  const char *path = model_path_for_id (d, d->combo_id);
  gboolean preview = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->preview_toggle));
  Job *job;

  if (!path)
    {
      const char *msg = _("No model is installed. Choose a weights file with “Other file…”.");
      show_model_error (d, msg);
      clear_result (d);
      set_status (d, _("No model to preview."), FALSE);
      finish (d, FALSE, msg);
      return;
    }

  job = g_new0 (Job, 1);
  job->ref = 1;
  job->d = dialog_ref (d);
  job->path = g_strdup (path);
  job->load_only = !preview || !d->image;
  job->slots = (int) gtk_adjustment_get_value (d->slots_adj);
  job->iterations = (int) gtk_adjustment_get_value (d->iterations_adj);
  job->restarts = (int) gtk_adjustment_get_value (d->restarts_adj);
  job->seed = (guint64) gtk_adjustment_get_value (d->seed_adj);
  job->deterministic = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->deterministic_check));

  d->running = job;
  if (!job->load_only)
    set_status (d, _("Computing the preview…"), TRUE);
  else
    set_status (d, _("Loading the model…"), TRUE);
  d->thread = g_thread_new ("iodine-preview", worker_main, job_ref (job));
  job_unref (job); /* d->running is a borrowed pointer, the worker holds one */
}

static gboolean
start_job_timeout (gpointer data)
{
  Dialog *d = data;
  d->timeout_id = 0;
  if (d->running)
    d->pending = TRUE; /* cancelled already; job_done_idle starts the next */
  else
    start_job (d);
  return G_SOURCE_REMOVE;
}

/* Something changed: cancel the run in progress and compute again soon. */
static void
schedule_update (Dialog *d)
{
  if (d->updating || d->closed)
    return;
  if (d->running)
    g_atomic_int_set (&d->running->cancelled, 1);
  if (d->timeout_id)
    g_source_remove (d->timeout_id);
  d->pending = FALSE; /* the new timeout starts the next run */
  d->timeout_id = g_timeout_add (COALESCE_MS, start_job_timeout, d);
}

static gboolean
progress_idle (gpointer data)
{
  Progress *p = data;
  const IodineProgress *r = &p->report;
  Job *job = p->job;
  Dialog *d = job->d;

  if (!d->closed && d->running == job && !g_atomic_int_get (&job->cancelled)
      && r->iteration >= 0 && r->iteration <= IODINE_ITERATIONS_MAX)
    {
      char *text;
      if (r->iteration == 0)
        d->n_loss = 0;
      d->loss[r->iteration] = r->loss;
      d->n_loss = r->iteration + 1;
      iodine_loss_curve_set (d->curve, d->loss, d->n_loss, r->iterations);
      if (r->restarts > 1)
        text = g_strdup_printf (_("Refining: run %d of %d, iteration %d of %d…"), r->restart + 1,
                                r->restarts, r->iteration, r->iterations);
      else
        text = g_strdup_printf (_("Refining: iteration %d of %d…"), r->iteration, r->iterations);
      set_status (d, text, TRUE);
      g_free (text);
    }
  job_unref (job);
  g_free (p);
  return G_SOURCE_REMOVE;
}

static void add_thumbnail (Dialog *d, int k, int n, cairo_surface_t *surface, float coverage);

static gboolean
job_done_idle (gpointer data)
{
  Job *job = data;
  Dialog *d = job->d;
  gboolean cancelled = g_atomic_int_get (&job->cancelled);
  gboolean current;
  gboolean success = FALSE;
  char *message = NULL;

  if (d->closed || d->running != job)
    {
      job_unref (job);
      return G_SOURCE_REMOVE;
    }
  g_thread_join (d->thread);
  d->thread = NULL;
  d->running = NULL;
  g_debug ("preview run %s", cancelled ? "cancelled" : "finished");

  current = g_strcmp0 (job->path, model_path_for_id (d, d->combo_id)) == 0;
  if (current)
    {
      show_model_error (d, job->model_error);
      if (job->model_description)
        {
          gtk_label_set_text (GTK_LABEL (d->model_info), job->model_description);
          gtk_widget_show (d->model_info);
        }
    }

  if (!cancelled && current)
    {
      if (job->model_error)
        {
          clear_result (d);
          message = g_strdup (_("The model could not be loaded."));
        }
      else if (job->error)
        {
          clear_result (d);
          message = g_strdup_printf (_("The preview failed: %s"), job->error);
        }
      else if (job->done)
        {
          clear_result (d);
          d->overlay = job->overlay;
          job->overlay = NULL;
          for (int k = 0; k < job->n_thumbs; k++)
            add_thumbnail (d, k, job->n_thumbs, job->thumbs[k], job->coverage[k]);
          job->n_thumbs = 0; /* the thumbnails own them now */
          memcpy (d->loss, job->loss, sizeof (float) * job->n_loss);
          d->n_loss = job->n_loss;
          iodine_loss_curve_set (d->curve, d->loss, d->n_loss, job->n_loss - 1);
          message = g_strdup_printf (_("Computed at %d × %d pixels, the model's training size."),
                                     job->model_width, job->model_height);
          success = TRUE;
        }
      else
        {
          /* Loaded only: the preview is off or there is no image. */
          clear_result (d);
          message = g_strdup (d->image ? _("The preview is off.") : _("There is no image to preview."));
          success = TRUE;
        }
      set_status (d, message, FALSE);
      gtk_widget_queue_draw (d->preview_area);
    }

  if (d->pending)
    {
      d->pending = FALSE;
      start_job (d);
    }
  else if (message)
    finish (d, success, message);
  g_free (message);
  job_unref (job);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* Drawing                                                             */

static gboolean
preview_draw (GtkWidget *widget, cairo_t *cr, gpointer data)
{
  Dialog *d = data;
  int w = gtk_widget_get_allocated_width (widget);
  int h = gtk_widget_get_allocated_height (widget);
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  cairo_surface_t *surface = d->overlay ? d->overlay : d->image_surface;

  gtk_render_background (style, cr, 0, 0, w, h);
  if (!surface)
    {
      PangoLayout *layout = gtk_widget_create_pango_layout (widget, _("No preview image"));
      int tw, th;
      pango_layout_get_pixel_size (layout, &tw, &th);
      gtk_render_layout (style, cr, (w - tw) / 2.0, (h - th) / 2.0, layout);
      g_object_unref (layout);
      return TRUE;
    }

  int iw = cairo_image_surface_get_width (surface);
  int ih = cairo_image_surface_get_height (surface);
  double scale = MIN ((double) w / iw, (double) h / ih);
  double dw = iw * scale, dh = ih * scale;

  cairo_save (cr);
  cairo_translate (cr, floor ((w - dw) / 2), floor ((h - dh) / 2));
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_paint (cr);
  cairo_restore (cr);
  return TRUE;
}

static gboolean
thumb_draw (GtkWidget *widget, cairo_t *cr, gpointer data)
{
  cairo_surface_t *surface = g_object_get_data (G_OBJECT (widget), "surface");
  int k = GPOINTER_TO_INT (data);
  int w = gtk_widget_get_allocated_width (widget);
  int h = gtk_widget_get_allocated_height (widget);
  int strip = 4;
  float colour[3];
  int iw = cairo_image_surface_get_width (surface);
  int ih = cairo_image_surface_get_height (surface);
  double side = MIN (w, h - strip);
  double scale = MIN (side / iw, side / ih);

  cairo_save (cr);
  cairo_translate (cr, (w - iw * scale) / 2, 0);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
  cairo_paint (cr);
  cairo_restore (cr);

  iodine_slot_colour (k, colour);
  cairo_set_source_rgb (cr, colour[0], colour[1], colour[2]);
  cairo_rectangle (cr, (w - iw * scale) / 2, h - strip, iw * scale, strip);
  cairo_fill (cr);
  return TRUE;
}

static void
add_thumbnail (Dialog *d, int k, int n, cairo_surface_t *surface, float coverage)
{
  GtkWidget *area = gtk_drawing_area_new ();
  /* One row of up to 6, else two rows, as large as the width allows */
  int columns = n <= 6 ? n : (n + 1) / 2;
  int size = MIN (THUMB_SIZE, (d->thumbs_width - THUMB_SPACING * (columns - 1)) / columns);
  char *tip;

  gtk_widget_set_size_request (area, size, size + 4);
  g_object_set_data_full (G_OBJECT (area), "surface", surface,
                          (GDestroyNotify) cairo_surface_destroy);
  g_signal_connect (area, "draw", G_CALLBACK (thumb_draw), GINT_TO_POINTER (k));
  /* TRANSLATORS: a tooltip on the thumbnail of one slot; %d is its number,
   * %.0f the share of the image it covers, in percent */
  tip = g_strdup_printf (_("Object %d: mask × appearance, %.0f %% of the image"),
                         k + 1, coverage * 100.0);
  gtk_widget_set_tooltip_text (area, tip);
  g_free (tip);
  gtk_widget_show (area);
  gtk_grid_attach (GTK_GRID (d->thumbs_box), area, k % columns, k / columns, 1, 1);
  gtk_widget_hide (d->thumbs_placeholder);
}

/* ------------------------------------------------------------------ */
/* Values and widgets                                                  */

static double
random_seed (void)
{
  return (double) g_random_int_range (0, SEED_MAX);
}

static void
update_seed_sensitivity (Dialog *d)
{
  gboolean sampling = !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->deterministic_check));
  gtk_widget_set_sensitive (d->seed_spin, sampling);
  gtk_widget_set_sensitive (d->seed_button, sampling);
}

static const char *
custom_file_id (Dialog *d, const char *path)
{
  GtkTreeModel *model = gtk_combo_box_get_model (GTK_COMBO_BOX (d->model_combo));
  int n = gtk_tree_model_iter_n_children (model, NULL);
  char *id = g_strconcat ("file:", path, NULL);
  char *base;

  /* Already there? */
  if (!gtk_combo_box_set_active_id (GTK_COMBO_BOX (d->model_combo), id))
    {
      /* Before the separator and "Other file…" */
      base = g_filename_display_basename (path);
      gtk_combo_box_text_insert (GTK_COMBO_BOX_TEXT (d->model_combo), MAX (0, n - 2), id, base);
      g_free (base);
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (d->model_combo), id);
    }
  g_free (d->combo_id);
  d->combo_id = id;
  return id;
}

/* Puts values into the widgets without computing in between. */
static void
set_widgets (Dialog *d, const IodineDecomposeValues *v)
{
  const char *id = NULL;
  char buf[32];

  d->updating = TRUE;
  gtk_adjustment_set_value (d->slots_adj, CLAMP (v->slots, IODINE_SLOTS_MIN, IODINE_SLOTS_MAX));
  gtk_adjustment_set_value (d->iterations_adj,
                            CLAMP (v->iterations, IODINE_ITERATIONS_MIN, IODINE_ITERATIONS_MAX));
  gtk_adjustment_set_value (d->restarts_adj,
                            CLAMP (v->restarts, IODINE_RESTARTS_MIN, IODINE_RESTARTS_MAX));
  if (v->seed >= 0 && v->seed <= SEED_MAX)
    gtk_adjustment_set_value (d->seed_adj, (double) v->seed);
  else
    gtk_adjustment_set_value (d->seed_adj, random_seed ());
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->deterministic_check), v->deterministic);
  update_seed_sensitivity (d);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (v->content == IODINE_CONTENT_RECONSTRUCTION
                                                   ? d->content_reconstruction
                                                   : d->content_original), TRUE);

  if (v->weights[0])
    {
      for (int i = 0; i < d->n_choices && !id; i++)
        if (strcmp (d->choices[i].path, v->weights) == 0)
          {
            g_snprintf (buf, sizeof buf, "model:%d", i);
            id = buf;
          }
      if (!id)
        id = custom_file_id (d, v->weights);
    }
  else if (d->n_choices > 0)
    id = "model:0";
  if (id)
    {
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (d->model_combo), id);
      if (id != d->combo_id)
        {
          g_free (d->combo_id);
          d->combo_id = g_strdup (id);
        }
    }
  else
    {
      gtk_combo_box_set_active (GTK_COMBO_BOX (d->model_combo), -1);
      g_clear_pointer (&d->combo_id, g_free);
    }
  d->updating = FALSE;
}

static void
get_values (Dialog *d, IodineDecomposeValues *v)
{
  const char *path = model_path_for_id (d, d->combo_id);

  v->slots = (int) gtk_adjustment_get_value (d->slots_adj);
  v->iterations = (int) gtk_adjustment_get_value (d->iterations_adj);
  v->restarts = (int) gtk_adjustment_get_value (d->restarts_adj);
  v->seed = (gint64) gtk_adjustment_get_value (d->seed_adj);
  v->deterministic = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->deterministic_check));
  v->content = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->content_reconstruction))
               ? IODINE_CONTENT_RECONSTRUCTION : IODINE_CONTENT_ORIGINAL;
  /* The first shipped model is the default: keep "" for it. */
  if (!path || (d->n_choices > 0 && strcmp (d->combo_id, "model:0") == 0))
    v->weights[0] = '\0';
  else
    g_strlcpy (v->weights, path, sizeof v->weights);
}

static void
value_changed (Dialog *d)
{
  schedule_update (d);
}

static void
deterministic_toggled (GtkToggleButton *button, Dialog *d)
{
  (void) button;
  update_seed_sensitivity (d);
  schedule_update (d);
}

static void
new_seed_clicked (GtkButton *button, Dialog *d)
{
  (void) button;
  gtk_adjustment_set_value (d->seed_adj, random_seed ());
}

static void
resample_clicked (GtkButton *button, Dialog *d)
{
  (void) button;
  d->updating = TRUE;
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->deterministic_check), FALSE);
  update_seed_sensitivity (d);
  gtk_adjustment_set_value (d->seed_adj, random_seed ());
  if (!gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->preview_toggle)))
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->preview_toggle), TRUE);
  d->updating = FALSE;
  schedule_update (d);
}

static void
preview_toggled (GtkToggleButton *button, Dialog *d)
{
  (void) button;
  schedule_update (d);
}

static gboolean
choose_file_idle (gpointer data)
{
  Dialog *d = data;
  GtkWidget *chooser;
  GtkFileFilter *filter;
  const char *current;

  if (d->closed)
    {
      dialog_unref (d);
      return G_SOURCE_REMOVE;
    }
  chooser = gtk_file_chooser_dialog_new (_("Open IODINE Weights"), GTK_WINDOW (d->dialog),
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Cancel"), GTK_RESPONSE_CANCEL,
                                         _("_Open"), GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("IODINE weights (*.safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("All files"));
  gtk_file_filter_add_pattern (filter, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);

  current = model_path_for_id (d, d->combo_id);
  if (current)
    {
      char *dir = g_path_get_dirname (current);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir);
      g_free (dir);
    }

  if (gtk_dialog_run (GTK_DIALOG (chooser)) == GTK_RESPONSE_ACCEPT)
    {
      char *path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (chooser));
      if (path && !d->closed)
        {
          d->updating = TRUE;
          custom_file_id (d, path);
          d->updating = FALSE;
          schedule_update (d);
        }
      g_free (path);
    }
  else if (!d->closed)
    {
      d->updating = TRUE;
      if (d->combo_id)
        gtk_combo_box_set_active_id (GTK_COMBO_BOX (d->model_combo), d->combo_id);
      else
        gtk_combo_box_set_active (GTK_COMBO_BOX (d->model_combo), -1);
      d->updating = FALSE;
    }
  gtk_widget_destroy (chooser);
  dialog_unref (d);
  return G_SOURCE_REMOVE;
}

static void
model_changed (GtkComboBox *combo, Dialog *d)
{
  const char *id = gtk_combo_box_get_active_id (combo);

  if (d->updating || !id)
    return;
  if (strcmp (id, "other") == 0)
    {
      /* After the combo's popup has closed */
      g_idle_add (choose_file_idle, dialog_ref (d));
      return;
    }
  g_free (d->combo_id);
  d->combo_id = g_strdup (id);
  gtk_widget_hide (d->model_info);
  schedule_update (d);
}

static gboolean
row_is_separator (GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
  char *id = NULL;
  gboolean sep;
  (void) data;
  gtk_tree_model_get (model, iter, 1, &id, -1);
  sep = g_strcmp0 (id, "separator") == 0;
  g_free (id);
  return sep;
}

static void
show_help (Dialog *d)
{
  GtkWidget *msg = gtk_message_dialog_new (GTK_WINDOW (d->dialog), GTK_DIALOG_MODAL,
                                           GTK_MESSAGE_INFO, GTK_BUTTONS_CLOSE,
                                           "%s", _("Decompose into Objects"));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (msg), "%s",
    _("IODINE splits the image into objects with a trained neural network and "
      "makes one layer per object (slot), with a mask of the pixels it explains.\n\n"
      "Slots: how many parts, background included, to look for.\n"
      "Iterations: how often the network refines its guess; the loss curve shows "
      "how it converges.\n"
      "Restarts: how many guesses to start from different samples; the one the "
      "model explains best (the lowest loss) is kept. Slower; with a well-trained "
      "model the objects are split more reliably.\n"
      "Seed and Deterministic: the network samples its guess; a seed repeats a "
      "sample, Deterministic always draws the same one. Resample shows "
      "another valid decomposition.\n"
      "Model: the trained weights. A model works best on images like those it "
      "was trained on; the preview runs at its training size.\n"
      "Layer content: each object's own pixels, with its hidden parts filled in "
      "by the network, or the network's reconstruction alone."));
  gtk_window_set_title (GTK_WINDOW (msg), _("Help"));
  gtk_dialog_run (GTK_DIALOG (msg));
  gtk_widget_destroy (msg);
}

/* ------------------------------------------------------------------ */
/* Building the dialog                                                 */

static GtkWidget *
frame_new (const char *title, GtkWidget *child)
{
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *label = gtk_label_new (NULL);
  char *markup = g_markup_printf_escaped ("<b>%s</b>", title);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  g_free (markup);
  gtk_frame_set_label_widget (GTK_FRAME (frame), label);
  gtk_frame_set_shadow_type (GTK_FRAME (frame), GTK_SHADOW_NONE);
  gtk_widget_set_margin_start (child, 12);
  gtk_widget_set_margin_top (child, 6);
  gtk_container_add (GTK_CONTAINER (frame), child);
  return frame;
}

static GtkWidget *
grid_label (GtkGrid *grid, int row, const char *mnemonic, GtkWidget *target)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (mnemonic);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), target);
  gtk_grid_attach (grid, label, 0, row, 1, 1);
  return label;
}

/* A GIMP-style scale entry: label, slider, spin button on one adjustment. */
static GtkAdjustment *
scale_entry (Dialog *d, GtkGrid *grid, int row, const char *name, const char *mnemonic, double lower,
             double upper, const char *tooltip, GtkWidget **spin_out)
{
  GtkAdjustment *adj = gtk_adjustment_new (lower, lower, upper, 1, 1, 0);
  GtkWidget *scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, adj);
  GtkWidget *spin = gtk_spin_button_new (adj, 1, 0);
  GtkWidget *label;

  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_range_set_round_digits (GTK_RANGE (scale), 0);
  gtk_widget_set_hexpand (scale, TRUE);
  gtk_widget_set_size_request (scale, 120, -1);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  gtk_entry_set_activates_default (GTK_ENTRY (spin), TRUE);
  gtk_entry_set_width_chars (GTK_ENTRY (spin), 3);
  label = grid_label (grid, row, mnemonic, spin);
  gtk_widget_set_name (spin, name);
  gtk_grid_attach (grid, scale, 1, row, 1, 1);
  gtk_grid_attach (grid, spin, 2, row, 1, 1);
  gtk_widget_set_tooltip_text (label, tooltip);
  gtk_widget_set_tooltip_text (scale, tooltip);
  gtk_widget_set_tooltip_text (spin, tooltip);
  g_signal_connect_swapped (adj, "value-changed", G_CALLBACK (value_changed), d);
  if (spin_out)
    *spin_out = spin;
  return adj;
}

static GtkWidget *
build_preview_column (Dialog *d)
{
  GtkWidget *vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *inner = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *frame, *row, *objects;
  int pw = PREVIEW_SIZE, ph = PREVIEW_SIZE;

  if (d->image)
    {
      if (d->image->width >= d->image->height)
        ph = MAX (64, PREVIEW_SIZE * d->image->height / d->image->width);
      else
        pw = MAX (64, PREVIEW_SIZE * d->image->width / d->image->height);
    }
  d->preview_area = gtk_drawing_area_new ();
  gtk_widget_set_size_request (d->preview_area, pw, ph);
  gtk_widget_set_tooltip_text (d->preview_area,
    _("The image with every pixel coloured by the object (slot) that explains it best"));
  g_signal_connect (d->preview_area, "draw", G_CALLBACK (preview_draw), d);
  /* Keeps the image's shape when the dialog is resized */
  frame = gtk_aspect_frame_new (NULL, 0.5, 0.5, (float) pw / (float) ph, FALSE);
  gtk_frame_set_shadow_type (GTK_FRAME (frame), GTK_SHADOW_IN);
  gtk_container_add (GTK_CONTAINER (frame), d->preview_area);
  gtk_box_pack_start (GTK_BOX (inner), frame, TRUE, TRUE, 0);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  d->preview_toggle = gtk_check_button_new_with_mnemonic (_("Pre_view"));
  gtk_widget_set_name (d->preview_toggle, "iodine-preview");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->preview_toggle), TRUE);
  gtk_widget_set_tooltip_text (d->preview_toggle,
    _("Compute a preview of the decomposition whenever a value changes"));
  g_signal_connect (d->preview_toggle, "toggled", G_CALLBACK (preview_toggled), d);
  gtk_box_pack_start (GTK_BOX (row), d->preview_toggle, FALSE, FALSE, 0);
  d->resample_button = gtk_button_new_with_mnemonic (_("Resa_mple"));
  gtk_widget_set_name (d->resample_button, "iodine-resample");
  gtk_button_set_image (GTK_BUTTON (d->resample_button),
                        gtk_image_new_from_icon_name ("view-refresh", GTK_ICON_SIZE_BUTTON));
  gtk_button_set_always_show_image (GTK_BUTTON (d->resample_button), TRUE);
  gtk_widget_set_tooltip_text (d->resample_button,
    _("Draw a new random seed and decompose again. IODINE can find several valid "
      "decompositions of one image; resampling shows another one."));
  g_signal_connect (d->resample_button, "clicked", G_CALLBACK (resample_clicked), d);
  gtk_box_pack_end (GTK_BOX (row), d->resample_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (inner), row, FALSE, FALSE, 0);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  d->spinner = gtk_spinner_new ();
  gtk_box_pack_start (GTK_BOX (row), d->spinner, FALSE, FALSE, 0);
  d->status_label = gtk_label_new (NULL);
  gtk_widget_set_name (d->status_label, "iodine-status");
  gtk_label_set_xalign (GTK_LABEL (d->status_label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (d->status_label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (d->status_label), 40);
  gtk_label_set_width_chars (GTK_LABEL (d->status_label), 30);
  gtk_label_set_lines (GTK_LABEL (d->status_label), 2);
  gtk_label_set_ellipsize (GTK_LABEL (d->status_label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (d->status_label, TRUE);
  gtk_style_context_add_class (gtk_widget_get_style_context (d->status_label), "dim-label");
  gtk_box_pack_start (GTK_BOX (row), d->status_label, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (inner), row, FALSE, FALSE, 0);

  gtk_box_pack_start (GTK_BOX (vbox), frame_new (_("Preview"), inner), TRUE, TRUE, 0);

  objects = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  d->thumbs_placeholder = gtk_label_new (_("The objects appear here once the preview is computed."));
  gtk_label_set_xalign (GTK_LABEL (d->thumbs_placeholder), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (d->thumbs_placeholder), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (d->thumbs_placeholder), 40);
  gtk_style_context_add_class (gtk_widget_get_style_context (d->thumbs_placeholder), "dim-label");
  gtk_widget_set_size_request (d->thumbs_placeholder, -1, THUMB_SIZE + 4);
  gtk_box_pack_start (GTK_BOX (objects), d->thumbs_placeholder, FALSE, FALSE, 0);
  d->thumbs_box = gtk_grid_new ();
  d->thumbs_width = MAX (pw, 240) - 12;
  gtk_grid_set_row_spacing (GTK_GRID (d->thumbs_box), THUMB_SPACING);
  gtk_grid_set_column_spacing (GTK_GRID (d->thumbs_box), THUMB_SPACING);
  gtk_widget_set_halign (d->thumbs_box, GTK_ALIGN_START);
  gtk_widget_set_tooltip_text (objects,
    _("Each slot's mask times its appearance; the strip below shows its colour in the preview"));
  gtk_box_pack_start (GTK_BOX (objects), d->thumbs_box, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), frame_new (_("Objects"), objects), FALSE, FALSE, 0);
  return vbox;
}

static GtkWidget *
build_settings_column (Dialog *d)
{
  GtkWidget *vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *grid, *box, *label, *icon;
  char id[32];

  /* Model */
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  d->model_combo = gtk_combo_box_text_new ();
  gtk_widget_set_name (d->model_combo, "iodine-model");
  for (int i = 0; i < d->n_choices; i++)
    {
      g_snprintf (id, sizeof id, "model:%d", i);
      gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (d->model_combo), id, d->choices[i].name);
    }
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (d->model_combo), "separator", "");
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (d->model_combo), "other", _("Other file…"));
  gtk_combo_box_set_row_separator_func (GTK_COMBO_BOX (d->model_combo), row_is_separator, NULL, NULL);
  gtk_widget_set_hexpand (d->model_combo, TRUE);
  gtk_widget_set_tooltip_text (d->model_combo,
    _("The trained network to use. “Other file…” opens weights of your own (.safetensors)."));
  g_signal_connect (d->model_combo, "changed", G_CALLBACK (model_changed), d);
  label = grid_label (GTK_GRID (grid), 0, _("_Weights:"), d->model_combo);
  gtk_widget_set_tooltip_text (label, gtk_widget_get_tooltip_text (d->model_combo));
  gtk_grid_attach (GTK_GRID (grid), d->model_combo, 1, 0, 1, 1);

  d->model_info = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (d->model_info), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (d->model_info), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (d->model_info), 36);
  gtk_style_context_add_class (gtk_widget_get_style_context (d->model_info), "dim-label");
  gtk_widget_set_tooltip_text (d->model_info, _("What the chosen model was trained on"));
  gtk_widget_set_no_show_all (d->model_info, TRUE);
  gtk_grid_attach (GTK_GRID (grid), d->model_info, 1, 1, 1, 1);

  d->model_error_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_name (d->model_error_box, "iodine-model-error");
  icon = gtk_image_new_from_icon_name ("dialog-error", GTK_ICON_SIZE_BUTTON);
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  gtk_box_pack_start (GTK_BOX (d->model_error_box), icon, FALSE, FALSE, 0);
  d->model_error_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (d->model_error_label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (d->model_error_label), TRUE);
  gtk_label_set_line_wrap_mode (GTK_LABEL (d->model_error_label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (d->model_error_label), 36);
  gtk_label_set_selectable (GTK_LABEL (d->model_error_label), TRUE);
  gtk_widget_set_can_focus (d->model_error_label, FALSE);
  gtk_box_pack_start (GTK_BOX (d->model_error_box), d->model_error_label, TRUE, TRUE, 0);
  gtk_widget_set_tooltip_text (d->model_error_box,
    _("The model cannot be used: choose another one to continue"));
  gtk_widget_show_all (d->model_error_box);
  gtk_widget_set_no_show_all (d->model_error_box, TRUE);
  gtk_widget_hide (d->model_error_box);
  gtk_grid_attach (GTK_GRID (grid), d->model_error_box, 0, 2, 2, 1);
  gtk_box_pack_start (GTK_BOX (vbox), frame_new (_("Model"), grid), FALSE, FALSE, 0);

  /* Decomposition */
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  d->slots_adj = scale_entry (d, GTK_GRID (grid), 0, "iodine-slots", _("_Slots:"), IODINE_SLOTS_MIN, IODINE_SLOTS_MAX,
    _("How many objects, the background included, to split the image into: one layer each"),
    &d->slots_spin);
  d->iterations_adj = scale_entry (d, GTK_GRID (grid), 1, "iodine-iterations", _("_Iterations:"),
    IODINE_ITERATIONS_MIN, IODINE_ITERATIONS_MAX,
    _("How many times the network refines its decomposition; the loss curve shows how it converges"),
    NULL);
  d->restarts_adj = scale_entry (d, GTK_GRID (grid), 2, "iodine-restarts", _("Res_tarts:"),
    IODINE_RESTARTS_MIN, IODINE_RESTARTS_MAX,
    _("How many times to decompose from different random samples, keeping the result the "
      "model explains best (the lowest loss): slower, and with a well-trained model the "
      "objects are split more reliably"),
    NULL);

  d->deterministic_check = gtk_check_button_new_with_mnemonic (_("_Deterministic"));
  gtk_widget_set_name (d->deterministic_check, "iodine-deterministic");
  gtk_widget_set_tooltip_text (d->deterministic_check,
    _("Draw the samples from a fixed seed: the same settings always give the same "
      "result, and the seed is not used"));
  g_signal_connect (d->deterministic_check, "toggled", G_CALLBACK (deterministic_toggled), d);
  gtk_grid_attach (GTK_GRID (grid), d->deterministic_check, 0, 3, 3, 1);

  d->seed_adj = gtk_adjustment_new (0, 0, (double) SEED_MAX, 1, 100, 0);
  d->seed_spin = gtk_spin_button_new (d->seed_adj, 1, 0);
  gtk_widget_set_name (d->seed_spin, "iodine-seed");
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (d->seed_spin), TRUE);
  gtk_entry_set_activates_default (GTK_ENTRY (d->seed_spin), TRUE);
  gtk_entry_set_width_chars (GTK_ENTRY (d->seed_spin), 10);
  gtk_widget_set_hexpand (d->seed_spin, TRUE);
  gtk_widget_set_tooltip_text (d->seed_spin,
    _("The random seed of the sampling: the same seed gives the same decomposition"));
  g_signal_connect_swapped (d->seed_adj, "value-changed", G_CALLBACK (value_changed), d);
  label = grid_label (GTK_GRID (grid), 4, _("S_eed:"), d->seed_spin);
  gtk_widget_set_tooltip_text (label, gtk_widget_get_tooltip_text (d->seed_spin));
  gtk_grid_attach (GTK_GRID (grid), d->seed_spin, 1, 4, 1, 1);
  d->seed_button = gtk_button_new_with_mnemonic (_("_New Seed"));
  gtk_widget_set_tooltip_text (d->seed_button, _("Draw a new random seed"));
  g_signal_connect (d->seed_button, "clicked", G_CALLBACK (new_seed_clicked), d);
  gtk_grid_attach (GTK_GRID (grid), d->seed_button, 2, 4, 1, 1);
  gtk_box_pack_start (GTK_BOX (vbox), frame_new (_("Decomposition"), grid), FALSE, FALSE, 0);

  /* Layer content */
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  d->content_original = gtk_radio_button_new_with_mnemonic (NULL,
    _("Ori_ginal pixels, inpainted where hidden"));
  gtk_widget_set_tooltip_text (d->content_original,
    _("Each layer holds the image's own pixels where the object is visible and the "
      "network's guess where other objects hide it"));
  d->content_reconstruction = gtk_radio_button_new_with_mnemonic_from_widget (
    GTK_RADIO_BUTTON (d->content_original), _("Reconstruction on_ly"));
  gtk_widget_set_tooltip_text (d->content_reconstruction,
    _("Each layer holds the network's reconstruction of the object alone"));
  gtk_box_pack_start (GTK_BOX (box), d->content_original, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), d->content_reconstruction, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), frame_new (_("Layer Content"), box), FALSE, FALSE, 0);

  /* Convergence */
  d->curve = iodine_loss_curve_new ();
  gtk_widget_set_tooltip_text (d->curve,
    _("The loss after each refinement iteration: it falls as the network "
      "refines its decomposition (lower is better)"));
  gtk_widget_set_vexpand (d->curve, TRUE);
  gtk_box_pack_start (GTK_BOX (vbox), frame_new (_("Convergence"), d->curve), TRUE, TRUE, 0);
  return vbox;
}

static GtkWidget *
add_button (GtkDialog *dialog, const char *mnemonic, int response, const char *tooltip)
{
  GtkWidget *button = gtk_dialog_add_button (dialog, mnemonic, response);
  gtk_widget_set_tooltip_text (button, tooltip);
  return button;
}

static void
build_dialog (Dialog *d)
{
  GtkWidget *content, *hbox, *help, *parent;

  d->dialog = g_object_new (GTK_TYPE_DIALOG,
                            "title", _("Decompose into Objects"),
                            "role", "gimp-iodine-decompose",
                            "use-header-bar", FALSE,
                            "modal", TRUE,
                            "window-position", GTK_WIN_POS_CENTER,
                            NULL);
  help = add_button (GTK_DIALOG (d->dialog), _("_Help"), GTK_RESPONSE_HELP,
                     _("Explain the settings"));
  add_button (GTK_DIALOG (d->dialog), _("_Reset"), RESPONSE_RESET,
              _("Reset all values to their defaults"));
  add_button (GTK_DIALOG (d->dialog), _("_Cancel"), GTK_RESPONSE_CANCEL,
              _("Close without decomposing"));
  d->ok_button = add_button (GTK_DIALOG (d->dialog), _("_OK"), GTK_RESPONSE_OK,
                             _("Decompose the image into one layer per object"));
  gtk_widget_set_name (d->ok_button, "iodine-ok");
  gtk_dialog_set_default_response (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK,
                                           RESPONSE_RESET, GTK_RESPONSE_CANCEL, -1);
  G_GNUC_END_IGNORE_DEPRECATIONS
  /* Help at the far left, as in GIMP */
  parent = gtk_widget_get_parent (help);
  if (GTK_IS_BUTTON_BOX (parent))
    {
      gtk_button_box_set_child_secondary (GTK_BUTTON_BOX (parent), help, TRUE);
      gtk_container_set_border_width (GTK_CONTAINER (parent), 6);
    }

  content = gtk_dialog_get_content_area (GTK_DIALOG (d->dialog));
  hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  gtk_container_set_border_width (GTK_CONTAINER (hbox), 12);
  gtk_box_pack_start (GTK_BOX (content), hbox, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), build_preview_column (d), TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), build_settings_column (d), FALSE, FALSE, 0);
  gtk_widget_show_all (hbox);
  set_status (d, "", FALSE);
}

gboolean
iodine_dialog_run (const IodineDialogSetup *setup, IodineDecomposeValues *values)
{
  Dialog *d = g_new0 (Dialog, 1);
  IodineDecomposeValues defaults;
  gboolean ok = FALSE;
  int response;

  d->ref = 1;
  g_mutex_init (&d->lock);
  d->models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, model_entry_free);
  if (setup->preview_rgb && setup->preview_width > 1 && setup->preview_height > 1)
    {
      size_t n = (size_t) setup->preview_width * setup->preview_height * 3;
      d->image = iodine_image_new (setup->preview_width, setup->preview_height);
      if (d->image)
        {
          memcpy (d->image->rgb, setup->preview_rgb, n * sizeof (float));
          d->image_surface = surface_from_rgb (d->image->rgb, d->image->width, d->image->height);
        }
    }
  d->n_choices = MAX (0, setup->n_models);
  d->choices = g_new0 (IodineModelChoice, MAX (1, d->n_choices));
  for (int i = 0; i < d->n_choices; i++)
    {
      d->choices[i].name = g_strdup (setup->models[i].name);
      d->choices[i].path = g_strdup (setup->models[i].path);
    }

  build_dialog (d);
  set_widgets (d, values);
  if (setup->make_transient)
    setup->make_transient (d->dialog, setup->transient_data);
  gtk_widget_grab_focus (d->slots_spin);
  start_job (d);

  for (;;)
    {
      response = gtk_dialog_run (GTK_DIALOG (d->dialog));
      if (response == GTK_RESPONSE_HELP)
        show_help (d);
      else if (response == RESPONSE_RESET)
        {
          iodine_decompose_values_init (&defaults);
          set_widgets (d, &defaults);
          schedule_update (d);
        }
      else
        break;
    }

  if (response == GTK_RESPONSE_OK)
    {
      get_values (d, values);
      ok = TRUE;
    }

  /* Stop the preview and wait for the worker before the widgets go. */
  d->closed = TRUE;
  if (d->timeout_id)
    g_source_remove (d->timeout_id);
  d->timeout_id = 0;
  if (d->running)
    g_atomic_int_set (&d->running->cancelled, 1);
  if (d->thread)
    g_thread_join (d->thread);
  d->thread = NULL;
  d->running = NULL;
  gtk_widget_destroy (d->dialog);
  /* Let the worker's last messages go, so that their references drop. */
  for (int i = 0; i < 1000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
  dialog_unref (d);
  return ok;
}
