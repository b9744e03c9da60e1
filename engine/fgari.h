/* Foreground adjusted Rand index, as the paper evaluates segmentations:
 * pixels whose true label is 0 (background) are ignored, every other pixel is
 * assigned to its argmax slot, and the ARI of the two partitions is computed
 * from the contingency table. */
#ifndef IODINE_FGARI_H
#define IODINE_FGARI_H

#include <glib.h>
#include <stdint.h>

/* labels [n_pixels] (0 = background), masks [K, n_pixels].
 * Returns the ARI in [-1, 1]; 1.0 when both partitions are a single cluster
 * (as scikit-learn); NaN when there is no foreground pixel. */
double iodine_fg_ari (const uint8_t *labels, const float *masks, int slots, int n_pixels);

/* The same from predicted hard labels [n_pixels] (any small integers). */
double iodine_ari_from_labels (const uint8_t *true_labels, const int *pred_labels,
                               int n_pixels, gboolean ignore_background);

#endif
