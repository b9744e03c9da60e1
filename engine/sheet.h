/* Pictures of a decomposition: per-slot PNGs and an overview sheet laid out
 * like the paper's Figure 4 (input, reconstruction, segmentation, then each
 * slot's mask × means). */
#ifndef IODINE_SHEET_H
#define IODINE_SHEET_H

#include "iodine.h"

/* The colour of slot k in segmentation pictures (a fixed palette). */
void iodine_slot_colour (int k, float rgb[3]);
/* Reconstruction Σ_k m_k μ_k, [H, W, 3]. */
void iodine_result_reconstruction (const IodineResult *r, float *out);
/* Writes DIR/slot-K-mask.png, DIR/slot-K-means.png, DIR/slot-K-object.png
 * (RGBA: means with the mask as alpha) and DIR/overview.png. */
gboolean iodine_result_write_pngs (const IodineResult *r, const char *dir, GError **error);
/* Size in pixels of the sheet iodine_sheet_write() draws: columns input |
 * reconstruction | segmentation | one per slot (the largest K), one row per
 * result, cells of the largest H × W times zoom, 2-pixel gaps. */
void iodine_sheet_size (IodineResult *const *results, int n_results, int zoom,
                        int *width, int *height);
/* The same sheet as float RGB [height, width, 3] (g_free it), NULL on bad input. */
float *iodine_sheet_render (IodineResult *const *results, int n_results, int zoom,
                            int *width, int *height);
/* One sheet for several results, one row each, scaled up by `zoom`. */
gboolean iodine_sheet_write (const char *path, IodineResult *const *results, int n_results,
                             int zoom, GError **error);

#endif
