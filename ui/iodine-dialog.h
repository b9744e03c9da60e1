/* The "Decompose into Objects" dialog: GTK 3, no GIMP calls, so that both
 * GIMP hosts (3.0 and 2.10 without libgimpui) can show it.
 *
 * The dialog owns a live preview: it loads the chosen model and runs
 * iodine_decompose() on a worker thread whenever a value changes, showing
 * the image with a coloured segmentation overlay, per-slot thumbnails and
 * the loss per iteration. */
#ifndef IODINE_DIALOG_H
#define IODINE_DIALOG_H

#include <gtk/gtk.h>
#include <string.h>

G_BEGIN_DECLS

typedef enum {
  IODINE_CONTENT_ORIGINAL = 0,      /* original pixels where visible, inpainted where occluded */
  IODINE_CONTENT_RECONSTRUCTION = 1 /* the slot's reconstruction alone */
} IodineContentMode;

/* The procedure's arguments after run-mode, image and drawable(s), in the
 * PDB order: slots (2–16), iterations (1–20), seed (−1 = random),
 * deterministic, weights (path, "" = default model), content, restarts
 * (1–16; last, so that it came without moving the others). */
typedef struct {
  int slots;
  int iterations;
  gint64 seed;
  gboolean deterministic;
  char weights[4096];
  IodineContentMode content;
  int restarts;
} IodineDecomposeValues;

#define IODINE_SLOTS_MIN 2
#define IODINE_SLOTS_MAX 16
#define IODINE_ITERATIONS_MIN 1
#define IODINE_ITERATIONS_MAX 20
/* The default model (weights/general.safetensors) was trained with K 6 and
 * T 5: fewer slots than it learnt with merge objects (the bundled sample's
 * FG-ARI: 0.24 with 4 slots, 0.33 with 6). */
#define IODINE_SLOTS_DEFAULT 6
#define IODINE_ITERATIONS_DEFAULT 5
/* Restarts: inference runs from different samples, the one with the lowest
 * loss kept (IodineRunOptions.restarts). One by default: four took the
 * Tetrominoes model from 0.913 to 0.950 FG-ARI on 500 scenes, but the
 * default (general) model from 0.438 to 0.379 on 100 of its scenes, whose
 * lowest loss is often a finer split (weights/README.md, session 11). */
#define IODINE_RESTARTS_MIN 1
#define IODINE_RESTARTS_MAX 16
#define IODINE_RESTARTS_DEFAULT 1

/* The procedure's defaults: 6 slots, 5 iterations, a random seed, sampling,
 * the default model, original pixels, one run. Inline, so that the
 * plug-in's core (built without the dialog when GTK is missing) and the
 * dialog share it. */
static inline void
iodine_decompose_values_init (IodineDecomposeValues *values)
{
  memset (values, 0, sizeof *values);
  values->slots = IODINE_SLOTS_DEFAULT;
  values->iterations = IODINE_ITERATIONS_DEFAULT;
  values->seed = -1;
  values->deterministic = FALSE;
  values->weights[0] = '\0';
  values->content = IODINE_CONTENT_ORIGINAL;
  values->restarts = IODINE_RESTARTS_DEFAULT;
}

/* A weights file the user can pick by name. */
typedef struct {
  const char *name;                 /* shown, e.g. "General", "Tetrominoes" */
  const char *path;
} IodineModelChoice;

typedef struct {
  /* The image (or selection) to preview, RGB float [h, w, 3] in [0,1],
   * already downscaled by the host to at most ~512 px on its long side. */
  const float *preview_rgb;
  int preview_width, preview_height;
  const IodineModelChoice *models;  /* shipped models, the first is the default */
  int n_models;
  /* Called once with the dialog's toplevel before it is shown, so the host
   * can make it transient to GIMP's window; may be NULL. */
  void (*make_transient) (GtkWidget *dialog, gpointer data);
  gpointer transient_data;
} IodineDialogSetup;

/* Shows the dialog modally. Returns TRUE if the user pressed OK; values holds
 * the initial values on entry and the chosen ones on return. A seed of −1
 * comes back as the seed the preview used, so that the result matches the
 * preview; the first (default) model comes back as weights "". */
gboolean iodine_dialog_run (const IodineDialogSetup *setup, IodineDecomposeValues *values);

/* For tests and screenshots: func is called on the main thread whenever a
 * preview run has finished and no other is pending, with whether it
 * succeeded and a status message. Process-wide; NULL unsets it. */
typedef void (*IodineDialogPreviewHook) (GtkWidget *dialog, gboolean success,
                                         const char *message, gpointer data);
void iodine_dialog_set_preview_hook (IodineDialogPreviewHook func, gpointer data);
/* The widgets a test may look up by name (gtk_widget_get_name): iodine-model,
 * iodine-model-error, iodine-slots, iodine-iterations, iodine-seed,
 * iodine-deterministic, iodine-restarts, iodine-preview, iodine-resample,
 * iodine-ok. */

G_END_DECLS

#endif
