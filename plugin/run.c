/* The plug-in's GIMP-independent driver (see host.h). */
#include "host.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "iodine-config.h"

void
iodine_plugin_i18n_init (void)
{
  bindtextdomain (GETTEXT_PACKAGE, IODINE_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

const char *
iodine_plugin_gettext (const char *msgid)
{
  return g_dgettext (GETTEXT_PACKAGE, msgid);
}

gboolean
iodine_plugin_have_dialog (void)
{
#ifdef IODINE_HAVE_UI
  return TRUE;
#else
  return FALSE;
#endif
}

gboolean
iodine_plugin_dialog (IodineHost *host, IodineDecomposeValues *values, GError **error)
{
#ifdef IODINE_HAVE_UI
  IodineRegion *region = host->ops->read_region (host, error);
  if (!region)
    return FALSE;
  IodineDialogSetup setup = { 0 };
  float *preview = iodine_region_preview (region, 512, &setup.preview_width, &setup.preview_height);
  iodine_region_free (region);
  if (!preview)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY, "Out of memory");
      return FALSE;
    }
  int n_models = 0;
  IodineModelChoice *models = iodine_plugin_find_models (&n_models);
  setup.preview_rgb = preview;
  setup.models = models;
  setup.n_models = n_models;
  setup.make_transient = host->ops->make_transient;
  setup.transient_data = host;
  gboolean ok = iodine_dialog_run (&setup, values);
  iodine_plugin_models_free (models, n_models);
  g_free (preview);
  return ok;
#else
  (void) host;
  (void) values;
  (void) error;
  return TRUE;
#endif
}

/* ---- the worker thread --------------------------------------------------- */

typedef struct {
  const IodineModel *model;
  IodineRegion *region;                /* owned by the worker once started */
  IodineDecomposeValues values;
  gint cancel;                         /* atomic */
  gint done;                           /* atomic */
  gint progress_permille;              /* atomic */
  IodineDecomposition *result;
  GError *error;
  GMainContext *context;
  GMainLoop *loop;
} Job;

static gboolean
worker_progress (double fraction, gpointer data)
{
  Job *job = data;
  g_atomic_int_set (&job->progress_permille, (gint) (fraction * 1000.0));
  return !g_atomic_int_get (&job->cancel);
}

static gpointer
worker (gpointer data)
{
  Job *job = data;
  job->result = iodine_decomposition_compute (job->model, job->region, &job->values,
                                              worker_progress, job, &job->error);
  job->region = NULL;
  g_atomic_int_set (&job->done, 1);
  g_main_context_wakeup (job->context);
  return NULL;
}

typedef struct {
  Job *job;
  IodineHost *host;
  gint shown;
} Poll;

static gboolean
poll_progress (gpointer data)
{
  Poll *p = data;
  gint now = g_atomic_int_get (&p->job->progress_permille);
  if (now != p->shown)
    {
      p->shown = now;
      if (!p->host->ops->progress_update (p->host, now / 1000.0))
        g_atomic_int_set (&p->job->cancel, 1);
    }
  if (g_atomic_int_get (&p->job->done))
    {
      g_main_loop_quit (p->job->loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

gboolean
iodine_plugin_run (IodineHost *host, const IodineDecomposeValues *values, GError **error)
{
  if (!iodine_plugin_values_validate (values, error))
    return FALSE;
  iodine_plugin_timing (NULL);
  char *path = iodine_plugin_resolve_weights (values->weights, error);
  if (!path)
    return FALSE;
  IodineModel *model = iodine_model_load (path, error);
  g_free (path);
  if (!model)
    return FALSE;
  iodine_plugin_timing ("load the model");
  IodineRegion *region = host->ops->read_region (host, error);
  iodine_plugin_timing ("read the image");
  if (!region)
    {
      iodine_model_free (model);
      return FALSE;
    }

  host->ops->progress_start (host, iodine_plugin_gettext ("Decomposing into objects"));

  Job job = { 0 };
  job.model = model;
  job.region = region;
  job.values = *values;
  job.progress_permille = 0;
  job.context = g_main_context_new ();
  job.loop = g_main_loop_new (job.context, FALSE);
  g_main_context_push_thread_default (job.context);

  Poll poll = { &job, host, -1 };
  GSource *timer = g_timeout_source_new (50);
  g_source_set_callback (timer, poll_progress, &poll, NULL);
  g_source_attach (timer, job.context);

  GThread *thread = g_thread_try_new ("iodine-decompose", worker, &job, error);
  gboolean ok = FALSE;
  if (thread)
    {
      g_main_loop_run (job.loop);
      g_thread_join (thread);
      if (job.result && !host->ops->progress_update (host, 1.0))
        /* cancelled after the worker's last look at the flag: the image is
         * still untouched, so honour it */
        g_set_error (error, IODINE_ERROR, IODINE_ERROR_CANCELLED, "Cancelled");
      else if (job.result)
        {
          ok = host->ops->write_layers (host, job.result, values->content, error);
          iodine_plugin_timing ("write the layers");
          iodine_plugin_timing (IODINE_TIMING_TOTAL);
        }
      else
        g_propagate_error (error, job.error);
      iodine_decomposition_free (job.result);
    }
  else
    iodine_region_free (region);

  g_source_destroy (timer);
  g_source_unref (timer);
  g_main_context_pop_thread_default (job.context);
  g_main_loop_unref (job.loop);
  g_main_context_unref (job.context);
  iodine_model_free (model);
  return ok;
}
