/* Opens the "Decompose into Objects" dialog on a generated picture (a few
 * coloured shapes), for trying it by hand and for the screenshot test.
 *
 *   test-dialog [--model NAME=PATH]... [--random-model] [--ready-file FILE]
 *               [--quit-after-ms N] [--exit-after-ready-ms N] [--exercise]
 *               [--slots K]
 *
 * Models: every --model, else $IODINE_TEST_MODEL, else (--random-model or
 * nothing given) a Tetrominoes model with random weights written to a
 * temporary file. --ready-file is written ("ok" or "error: …") when the
 * first preview has finished, and the dialog closes when the file is
 * removed again, or --exit-after-ready-ms that long after; --quit-after-ms
 * closes it after N ms in any case (exit 2). --exercise drives the dialog
 * through its features (coalesced changes, resample, cancel, a broken model,
 * deterministic, "Other file…", OK) and exits 1 if a check fails.
 * Prints the values on OK. IODINE_LOCALEDIR overrides where the
 * translations are looked up, e.g. BUILD/po with LANGUAGE=de. */
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iodine-config.h"
#include "iodine-dialog.h"
#include "iodine.h"

static char *ready_file;
static int exit_after_ready_ms = -1;
static gboolean timed_out;
static gboolean ready_seen;

static void
shape_image (float *rgb, int w, int h)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float *p = rgb + ((size_t) y * w + x) * 3;
        float fx = (float) x / w, fy = (float) y / h;
        /* dark background with a faint gradient */
        p[0] = 0.08f + 0.05f * fy;
        p[1] = 0.08f + 0.05f * fy;
        p[2] = 0.10f + 0.08f * fy;
        /* red disc */
        if (hypotf (fx - 0.30f, fy - 0.35f) < 0.17f)
          {
            p[0] = 0.90f; p[1] = 0.20f; p[2] = 0.15f;
          }
        /* green square */
        if (fx > 0.58f && fx < 0.86f && fy > 0.15f && fy < 0.52f)
          {
            p[0] = 0.20f; p[1] = 0.75f; p[2] = 0.30f;
          }
        /* blue triangle */
        if (fy > 0.60f && fy < 0.92f && fabsf (fx - 0.40f) < (fy - 0.60f) * 0.75f)
          {
            p[0] = 0.20f; p[1] = 0.35f; p[2] = 0.90f;
          }
        /* yellow L tetromino */
        if ((fx > 0.68f && fx < 0.76f && fy > 0.60f && fy < 0.88f)
            || (fx > 0.68f && fx < 0.88f && fy > 0.80f && fy < 0.88f))
          {
            p[0] = 0.95f; p[1] = 0.85f; p[2] = 0.20f;
          }
      }
}

static char *
random_model (void)
{
  IodineConfig cfg;
  IodineModel *model;
  GError *error = NULL;
  char *path;
  int fd = g_file_open_tmp ("iodine-test-XXXXXX.safetensors", &path, &error);

  if (fd < 0)
    {
      g_printerr ("test-dialog: %s\n", error->message);
      return NULL;
    }
  close (fd);
  if (!iodine_config_preset ("tetrominoes", &cfg, &error)
      || !(model = iodine_model_new_random (&cfg, 1, &error)))
    {
      g_printerr ("test-dialog: cannot make a random model: %s\n", error->message);
      g_free (path);
      return NULL;
    }
  if (!iodine_model_save (model, path, NULL, &error))
    {
      g_printerr ("test-dialog: %s\n", error->message);
      iodine_model_free (model);
      g_free (path);
      return NULL;
    }
  iodine_model_free (model);
  return path;
}

static gboolean
close_dialog (gpointer data)
{
  GtkWidget *dialog = data;
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_object_unref (dialog);
  return G_SOURCE_REMOVE;
}

/* The screenshot script removes the ready file once it has its picture. */
static gboolean
watch_ready_file (gpointer data)
{
  if (g_file_test (ready_file, G_FILE_TEST_EXISTS))
    return G_SOURCE_CONTINUE;
  close_dialog (data);
  return G_SOURCE_REMOVE;
}

static gboolean
quit_timeout (gpointer data)
{
  (void) data;
  GList *toplevels = gtk_window_list_toplevels ();
  timed_out = TRUE;
  g_printerr ("test-dialog: timed out\n");
  for (GList *l = toplevels; l; l = l->next)
    if (GTK_IS_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      gtk_dialog_response (GTK_DIALOG (l->data), GTK_RESPONSE_CANCEL);
  g_list_free (toplevels);
  return G_SOURCE_REMOVE;
}

/* --exercise: drives the dialog through its features, one step per
 * finished preview, checking what it shows. */
static gboolean exercise;
static int exercise_step;
static int exercise_failures;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond))                                                           \
      {                                                                    \
        g_printerr ("exercise step %d: check failed: %s\n", exercise_step, #cond); \
        exercise_failures++;                                               \
      }                                                                    \
  } while (0)

static void
find_named (GtkWidget *widget, gpointer data)
{
  gpointer *args = data;
  if (args[1])
    return;
  if (g_strcmp0 (gtk_widget_get_name (widget), args[0]) == 0)
    args[1] = widget;
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), find_named, args);
}

static GtkWidget *
named (GtkWidget *dialog, const char *name)
{
  gpointer args[2] = { (gpointer) name, NULL };
  find_named (dialog, args);
  if (!args[1])
    {
      g_printerr ("exercise: no widget named %s\n", name);
      exit (1);
    }
  return args[1];
}

static GtkAdjustment *
spin_adjustment (GtkWidget *dialog, const char *name)
{
  return gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (named (dialog, name)));
}

static gboolean
change_iterations (gpointer data)
{
  gtk_adjustment_set_value (spin_adjustment (data, "iodine-iterations"), 8);
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static const char *exercise_model_path;

/* The status line's texts while a preview with 2 restarts of 7 iterations
 * runs: each run and each of its iterations must be told apart. */
static gboolean saw_first_run, saw_last_run_done;

static void
status_changed (GObject *label, GParamSpec *pspec, gpointer data)
{
  const char *text = gtk_label_get_text (GTK_LABEL (label));
  char *first = g_strdup_printf (_("Refining: run %d of %d, iteration %d of %d…"), 1, 2, 0, 7);
  char *last = g_strdup_printf (_("Refining: run %d of %d, iteration %d of %d…"), 2, 2, 7, 7);
  (void) pspec;
  (void) data;
  if (strcmp (text, first) == 0)
    saw_first_run = TRUE;
  if (strcmp (text, last) == 0)
    saw_last_run_done = saw_first_run;
  g_free (first);
  g_free (last);
}

/* Answers the file chooser that "Other file…" opens */
static gboolean
answer_chooser (gpointer data)
{
  GList *toplevels = gtk_window_list_toplevels ();
  gboolean found = FALSE;
  (void) data;
  for (GList *l = toplevels; l; l = l->next)
    if (GTK_IS_FILE_CHOOSER_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      {
        GtkFileChooser *chooser = l->data;
        char *path = gtk_file_chooser_get_filename (chooser);
        found = TRUE;
        if (!path || strcmp (path, exercise_model_path) != 0)
          {
            /* The folder loads asynchronously: select, then look again */
            gtk_file_chooser_select_filename (chooser, exercise_model_path);
            g_free (path);
            g_list_free (toplevels);
            return G_SOURCE_CONTINUE;
          }
        g_free (path);
        gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
      }
  g_list_free (toplevels);
  return found ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
exercise_next (gpointer data)
{
  GtkWidget *dialog = data;
  GtkWidget *ok = named (dialog, "iodine-ok");
  GtkWidget *error_box = named (dialog, "iodine-model-error");
  GtkWidget *det = named (dialog, "iodine-deterministic");
  GtkWidget *model = named (dialog, "iodine-model");
  double seed;

  switch (exercise_step)
    {
    case 0:
      /* Two changes in a row compute once, with both */
      CHECK (gtk_widget_get_sensitive (ok));
      g_signal_connect (named (dialog, "iodine-status"), "notify::label", G_CALLBACK (status_changed), NULL);
      gtk_adjustment_set_value (spin_adjustment (dialog, "iodine-slots"), 6);
      gtk_adjustment_set_value (spin_adjustment (dialog, "iodine-iterations"), 7);
      gtk_adjustment_set_value (spin_adjustment (dialog, "iodine-restarts"), 2);
      break;
    case 1:
      /* that preview reported run 1 of 2 and then run 2 of 2 to its end */
      CHECK (saw_first_run && saw_last_run_done);
      g_signal_handlers_disconnect_by_func (named (dialog, "iodine-status"), status_changed, NULL);
      /* Resample: a new seed, sampling on; a change while it runs cancels it */
      seed = gtk_adjustment_get_value (spin_adjustment (dialog, "iodine-seed"));
      gtk_button_clicked (GTK_BUTTON (named (dialog, "iodine-resample")));
      CHECK (!gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (det)));
      CHECK (gtk_adjustment_get_value (spin_adjustment (dialog, "iodine-seed")) != seed);
      g_timeout_add (250, change_iterations, g_object_ref (dialog));
      break;
    case 2:
      /* A model that cannot be loaded: message shown, OK insensitive */
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (model), "model:1");
      break;
    case 3:
      CHECK (!gtk_widget_get_sensitive (ok));
      CHECK (gtk_widget_get_visible (error_box));
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (model), "model:0");
      break;
    case 4:
      CHECK (gtk_widget_get_sensitive (ok));
      CHECK (!gtk_widget_get_visible (error_box));
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (det), TRUE);
      CHECK (!gtk_widget_get_sensitive (named (dialog, "iodine-seed")));
      break;
    case 5:
      /* "Other file…" with a file chooser: the file becomes an entry */
      g_timeout_add (200, answer_chooser, NULL);
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (model), "other");
      break;
    case 6:
      CHECK (g_str_has_prefix (gtk_combo_box_get_active_id (GTK_COMBO_BOX (model)), "file:"));
      gtk_button_clicked (GTK_BUTTON (ok));
      break;
    default:
      CHECK (!"a preview after OK");
      break;
    }
  exercise_step++;
  g_object_unref (dialog);
  return G_SOURCE_REMOVE;
}

static void
preview_ready (GtkWidget *dialog, gboolean success, const char *message, gpointer data)
{
  (void) data;
  g_print ("preview: %s: %s\n", success ? "ok" : "error", message);
  if (exercise)
    {
      /* Only step 3 expects the broken model's error */
      CHECK (success == (exercise_step != 3));
      g_idle_add (exercise_next, g_object_ref (dialog));
      return;
    }
  if (ready_seen)
    return;
  ready_seen = TRUE;
  if (ready_file)
    {
      char *text = g_strdup_printf ("%s: %s\n", success ? "ok" : "error", message);
      GError *error = NULL;
      /* Let the dialog draw the result before anyone looks at it */
      while (gtk_events_pending ())
        gtk_main_iteration ();
      if (!g_file_set_contents (ready_file, text, -1, &error))
        {
          g_printerr ("test-dialog: %s\n", error->message);
          g_error_free (error);
        }
      g_free (text);
    }
  if (exit_after_ready_ms >= 0)
    g_timeout_add (exit_after_ready_ms, close_dialog, g_object_ref (dialog));
  else if (ready_file)
    g_timeout_add (100, watch_ready_file, g_object_ref (dialog));
}

int
main (int argc, char **argv)
{
  char **model_args = NULL;
  gboolean use_random = FALSE;
  int quit_after_ms = -1;
  int initial_slots = 0;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_STRING_ARRAY, &model_args, "A model to offer", "NAME=PATH" },
    { "random-model", 0, 0, G_OPTION_ARG_NONE, &use_random, "Offer a model with random weights", NULL },
    { "ready-file", 0, 0, G_OPTION_ARG_FILENAME, &ready_file, "Written when the preview is ready", "FILE" },
    { "exit-after-ready-ms", 0, 0, G_OPTION_ARG_INT, &exit_after_ready_ms, "Close the dialog N ms after the preview", "N" },
    { "quit-after-ms", 0, 0, G_OPTION_ARG_INT, &quit_after_ms, "Close the dialog after N ms in any case", "N" },
    { "exercise", 0, 0, G_OPTION_ARG_NONE, &exercise, "Drive the dialog through its features and check them", NULL },
    { "slots", 0, 0, G_OPTION_ARG_INT, &initial_slots, "Initial number of slots", "K" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  GError *error = NULL;
  GArray *models = g_array_new (FALSE, TRUE, sizeof (IodineModelChoice));
  char *random_path = NULL;
  IodineDialogSetup setup = { 0 };
  IodineDecomposeValues values;
  const char *localedir = g_getenv ("IODINE_LOCALEDIR");
  int w = 320, h = 240;
  float *rgb;
  gboolean ok;

  /* No session bus here: keep the file chooser's settings in memory */
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : IODINE_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  if (!gtk_init_with_args (&argc, &argv, "- show the IODINE dialog", entries, NULL, &error))
    {
      g_printerr ("test-dialog: %s\n", error ? error->message : "cannot open a display");
      return 77;
    }

  for (char **m = model_args; m && *m; m++)
    {
      IodineModelChoice c;
      char *eq = strchr (*m, '=');
      if (eq)
        {
          *eq = '\0';
          c.name = *m;
          c.path = eq + 1;
        }
      else
        {
          c.name = g_path_get_basename (*m);
          c.path = *m;
        }
      g_array_append_val (models, c);
    }
  if (models->len == 0 && g_getenv ("IODINE_TEST_MODEL") && !use_random)
    {
      IodineModelChoice c = { "Test model", g_getenv ("IODINE_TEST_MODEL") };
      g_array_append_val (models, c);
    }
  if (models->len == 0 || use_random)
    {
      random_path = random_model ();
      if (!random_path)
        return 1;
      IodineModelChoice c = { "Tetrominoes (random weights)", random_path };
      g_array_append_val (models, c);
    }

  if (exercise)
    {
      IodineModelChoice c = { "Broken", "/nonexistent/broken.safetensors" };
      char *contents, *copy;
      gsize length;
      g_array_append_val (models, c);
      /* A copy of the first model, to open with "Other file…" */
      copy = g_build_filename (g_get_tmp_dir (), "iodine-test-other.safetensors", NULL);
      if (!g_file_get_contents (g_array_index (models, IodineModelChoice, 0).path, &contents, &length, &error)
          || !g_file_set_contents (copy, contents, length, &error))
        {
          g_printerr ("test-dialog: %s\n", error->message);
          return 1;
        }
      g_free (contents);
      exercise_model_path = copy;
    }

  rgb = g_new (float, (size_t) w * h * 3);
  shape_image (rgb, w, h);
  setup.preview_rgb = rgb;
  setup.preview_width = w;
  setup.preview_height = h;
  setup.models = (const IodineModelChoice *) models->data;
  setup.n_models = (int) models->len;

  iodine_decompose_values_init (&values);
  values.seed = 42;
  if (initial_slots > 0)
    values.slots = initial_slots;
  iodine_dialog_set_preview_hook (preview_ready, NULL);
  if (quit_after_ms >= 0)
    g_timeout_add (quit_after_ms, quit_timeout, NULL);

  ok = iodine_dialog_run (&setup, &values);
  if (ok)
    g_print ("slots=%d iterations=%d seed=%" G_GINT64_FORMAT " deterministic=%d weights=%s content=%d"
             " restarts=%d\n",
             values.slots, values.iterations, values.seed, values.deterministic,
             values.weights, (int) values.content, values.restarts);
  else
    g_print ("cancelled\n");

  if (exercise)
    {
      CHECK (ok);
      CHECK (exercise_step == 7);
      CHECK (values.slots == 6);
      CHECK (values.iterations == 8);
      CHECK (values.restarts == 2);
      CHECK (values.deterministic);
      CHECK (values.seed >= 0 && values.seed <= G_MAXINT32);
      CHECK (strcmp (values.weights, exercise_model_path) == 0);
      g_print ("exercise: %s\n", exercise_failures ? "FAILED" : "ok");
    }

  if (exercise_model_path)
    g_unlink (exercise_model_path);
  if (random_path)
    {
      g_unlink (random_path);
      g_free (random_path);
    }
  g_free (rgb);
  g_array_free (models, TRUE);
  return timed_out ? 2 : exercise_failures ? 1 : 0;
}
