/* The pixel traffic both GIMP hosts share: GIMP 2.10 and 3.0 both hand out
 * GEGL buffers, so reading the source region and writing a layer and its mask
 * strip by strip is the same code; only how the buffers are obtained differs. */
#ifndef IODINE_HOST_GEGL_H
#define IODINE_HOST_GEGL_H

#include <gegl.h>

#include "host.h"

/* The float format of a mask or selection buffer in its own colour space. */
const char *host_mask_format (GeglBuffer *buffer);
/* Reads the region (x, y, w, h) of the layer as R'G'B'A float into
 * region->rgba and, when selection is not NULL, the selection at (sx, sy)
 * into region->selection. */
void host_read_region (IodineRegion *region, GeglBuffer *layer, GeglBuffer *selection, int x,
                       int y, int sx, int sy, int w, int h);
/* Row strips for writing a w × h layer: *strip rows of RGBA and of mask. */
gboolean host_strip_buffers (int w, int h, int *strip, float **rgba, float **mask,
                             GError **error);
/* Whether layer i's mask should start white (else black): the fill that
 * most of it keeps, so that host_write_layer has the fewest tiles to send. */
gboolean host_mask_starts_white (const IodineDecomposition *d, int i);
/* Writes layer i of the decomposition into a layer buffer and its mask's.
 * The mask was created filled white (mask_white) or black; blocks of it
 * that keep that value once stored are left alone. */
void host_write_layer (GeglBuffer *layer, GeglBuffer *mask, const IodineDecomposition *d, int i,
                       IodineContentMode content, int strip, float *rgba, float *mask_rows,
                       gboolean mask_white);

#endif
