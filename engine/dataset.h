/* Synthetic datasets with ground-truth instance masks, and folders of images.
 *
 * Every sample is a pure function of (seed, index): sample i is generated
 * from its own random stream (iodine_rng_seed2), so a resumed training run
 * only needs the index of the next sample, and a validation set is just a
 * seed and a count.
 */
#ifndef IODINE_DATASET_H
#define IODINE_DATASET_H

#include <glib.h>
#include <stdint.h>

typedef struct IodineDataset IodineDataset;

/* spec: "tetrominoes" (35×35), "multi-dsprites" (64×64),
 * "multi-dsprites-binarized" (64×64), or "images:DIR" (PNG/JPEG files in DIR,
 * resized and centre-cropped; no ground truth).
 * "tetrominoes:touching=P,same-colour=P" (either or both) is a curriculum on
 * the hardest scenes: a share P of the scenes is drawn among those where two
 * pieces of one colour touch, a share P among those where two pieces share a
 * colour, the rest as in "tetrominoes" (where they are 15% and 44%).
 * height/width: 0 for the dataset's native size; otherwise synthetic scenes
 * are rendered at native size and resized (labels by nearest neighbour). */
IodineDataset *iodine_dataset_new (const char *spec, int height, int width,
                                   uint64_t seed, GError **error);
void iodine_dataset_free (IodineDataset *ds);
int iodine_dataset_height (const IodineDataset *ds);
int iodine_dataset_width (const IodineDataset *ds);
gboolean iodine_dataset_has_labels (const IodineDataset *ds);
/* Largest number of objects + background in one scene (for choosing K);
 * 0 for images:DIR, which has no ground truth. */
int iodine_dataset_max_objects (const IodineDataset *ds);
/* Number of distinct samples: the files of images:DIR (one epoch), 0 for the
 * synthetic datasets (every index is a new scene). */
int iodine_dataset_count (const IodineDataset *ds);
/* The dataset a spec draws from, without its options (a new string):
 * "tetrominoes" for "tetrominoes:touching=0.3"; validation uses it. */
char *iodine_dataset_base_spec (const char *spec);
/* Native size of a dataset name, FALSE if the name is unknown. */
gboolean iodine_dataset_native_size (const char *spec, int *height, int *width);

/* Sample `index`: image [H, W, 3] in [0,1]; labels [H, W] (0 = background,
 * 1..n = objects) if the dataset has them and labels is not NULL.
 * For images:DIR, index runs over epochs: the order is reshuffled for every
 * epoch (index / n_files) from the seed. */
gboolean iodine_dataset_get (IodineDataset *ds, uint64_t index, float *image,
                             uint8_t *labels, GError **error);

#endif
