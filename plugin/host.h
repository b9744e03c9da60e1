/* The small interface between the plug-in's GIMP-independent driver
 * (run.c, decompose.c) and one GIMP API (host-gimp2.c, host-gimp3.c). */
#ifndef IODINE_PLUGIN_HOST_H
#define IODINE_PLUGIN_HOST_H

#include "decompose.h"

G_BEGIN_DECLS

typedef struct IodineHost IodineHost;

typedef struct {
  /* Reads the drawable ∩ the selection's bounds as R'G'B'A float, with the
   * selection's values over it when there is one. */
  IodineRegion *(*read_region) (IodineHost *host, GError **error);
  /* GIMP's progress bar. progress_update returns FALSE when the user
   * cancelled or GIMP went away. */
  void (*progress_start) (IodineHost *host, const char *text);
  gboolean (*progress_update) (IodineHost *host, double fraction);
  /* Adds the "Objects" group above the drawable, one layer (with mask) per
   * layer of d, all in one undo group; on failure the image is left as it
   * was. */
  gboolean (*write_layers) (IodineHost *host, const IodineDecomposition *d,
                            IodineContentMode content, GError **error);
  /* May be NULL: makes the dialog transient to GIMP's window. */
  void (*make_transient) (GtkWidget *dialog, gpointer host);
} IodineHostOps;

struct IodineHost {
  const IodineHostOps *ops;
};

/* Shows the dialog (if the ui was built; else keeps values as they are).
 * Returns FALSE if the user cancelled, or on error (then error is set). */
gboolean iodine_plugin_dialog (IodineHost *host, IodineDecomposeValues *values, GError **error);

/* The whole run: validates values, loads the model, reads the image, runs
 * the engine on a worker thread while the calling thread shows progress,
 * and only then writes the layers. error is IODINE_ERROR_CANCELLED when the
 * user cancelled. */
gboolean iodine_plugin_run (IodineHost *host, const IodineDecomposeValues *values, GError **error);

/* Whether the GTK dialog is compiled in. */
gboolean iodine_plugin_have_dialog (void);

/* Sets up gettext for the plug-in's own strings. */
void iodine_plugin_i18n_init (void);
/* The plug-in's strings, translated. */
const char *iodine_plugin_gettext (const char *msgid);

/* Rows per gegl_buffer_set call when writing layers. */
#define IODINE_PLUGIN_STRIP_ROWS 256

G_END_DECLS

#endif
