/* The GIMP-independent core of the plug-in: finds the shipped models, runs
 * the engine on a region of an image, brings the masks back to full
 * resolution and builds the pixels of one layer per non-empty slot. */
#ifndef IODINE_PLUGIN_DECOMPOSE_H
#define IODINE_PLUGIN_DECOMPOSE_H

#include <glib.h>

#include "iodine.h"
#include "iodine-dialog.h"

G_BEGIN_DECLS

#define IODINE_PROCEDURE "plug-in-iodine-decompose"
#define IODINE_PLUGIN_BINARY "gimp-iodine"
/* The largest region (width × height) the plug-in accepts. */
#define IODINE_PLUGIN_MAX_PIXELS ((gsize) 100 * 1000 * 1000)

/* (Defaults of the arguments: iodine_decompose_values_init, iodine-dialog.h.) */
/* Checks the ranges of every argument; the message names the argument. */
gboolean iodine_plugin_values_validate (const IodineDecomposeValues *values, GError **error);
/* "original" / "reconstruction" ↔ IodineContentMode. */
gboolean iodine_plugin_content_parse (const char *text, IodineContentMode *mode, GError **error);
const char *iodine_plugin_content_name (IodineContentMode mode);

/* The directory of the running executable (set by the host from argv[0] or
 * /proc/self/exe) is searched first for weights; may be NULL. */
void iodine_plugin_set_exe_dir (const char *dir);
/* The directories searched for shipped weights, in order: beside the
 * executable, $IODINE_WEIGHTS_DIR, IODINE_DATADIR, the source tree's
 * weights/. Free with g_strfreev. */
char **iodine_plugin_data_dirs (void);
/* The shipped models found (general, tetrominoes, multi-dsprites, in that
 * order, the first found for each name). Free with
 * iodine_plugin_models_free. */
IodineModelChoice *iodine_plugin_find_models (int *n_models);
void iodine_plugin_models_free (IodineModelChoice *models, int n_models);
/* The weights to load: path itself if not empty, else the default shipped
 * model. */
char *iodine_plugin_resolve_weights (const char *path, GError **error);

/* A region of the image: the drawable ∩ the selection's bounds, read as
 * R'G'B'A float. */
typedef struct {
  int width, height;
  float *rgba;            /* [height, width, 4] */
  float *selection;       /* [height, width] in [0, 1]; NULL: no selection */
} IodineRegion;

IodineRegion *iodine_region_new (int width, int height, gboolean with_selection, GError **error);
void iodine_region_free (IodineRegion *region);
/* The region composited over black and resized to fit in max_side (keeping
 * the aspect ratio), as RGB float for the dialog's preview. */
float *iodine_region_preview (const IodineRegion *region, int max_side, int *width, int *height);

typedef struct IodineDecomposition IodineDecomposition;

/* Bytes the whole computation needs for this region and model. */
gsize iodine_decomposition_working_set (const IodineModel *model, int width, int height, int slots);

/* Runs the model on the region resized to its training size, keeps the
 * non-empty slots and upsamples their masks to the region's size with an
 * edge-aware filter. Takes ownership of region. progress (may be NULL) is
 * called from this thread with a fraction in [0, 1]; returning FALSE
 * cancels (IODINE_ERROR_CANCELLED). */
typedef gboolean (*IodinePluginProgress) (double fraction, gpointer data);
/* With IODINE_TIMING set in the environment, prints to stderr the wall time
 * since the previous call as "iodine-timing: STAGE 1.234 s" (the benchmark
 * tests/bench/bench-gimp.sh reads them); stage NULL only starts the clock,
 * and stage IODINE_TIMING_TOTAL prints the time since then. Stages follow
 * each other, whichever thread runs them. */
#define IODINE_TIMING_TOTAL "total"
void iodine_plugin_timing (const char *stage);

IodineDecomposition *iodine_decomposition_compute (const IodineModel *model,
                                                   IodineRegion *region,
                                                   const IodineDecomposeValues *values,
                                                   IodinePluginProgress progress,
                                                   gpointer progress_data,
                                                   GError **error);
void iodine_decomposition_free (IodineDecomposition *d);

int iodine_decomposition_width (const IodineDecomposition *d);
int iodine_decomposition_height (const IodineDecomposition *d);
/* Layers from top to bottom of the "Objects" group: "Object 1" (the largest
 * object), "Object 2", …, and "Background" (the slot covering most of the
 * border) at the bottom. */
int iodine_decomposition_n_layers (const IodineDecomposition *d);
const char *iodine_decomposition_layer_name (const IodineDecomposition *d, int layer);
/* The layer's share of the region, in [0, 1]. */
double iodine_decomposition_layer_area (const IodineDecomposition *d, int layer);
/* Fills rows y0 … y0+rows−1 of the layer: rgba [rows, width, 4] (straight
 * alpha, R'G'B'A) and mask [rows, width] (the slot's soft mask × the
 * selection). */
void iodine_decomposition_layer_pixels (const IodineDecomposition *d, int layer,
                                        IodineContentMode content, int y0, int rows,
                                        float *rgba, float *mask);

G_END_DECLS

#endif
