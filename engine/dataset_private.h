/* Shared between dataset.c and the dataset_*.c generators. */
#ifndef IODINE_DATASET_PRIVATE_H
#define IODINE_DATASET_PRIVATE_H

#include "dataset.h"
#include "rng.h"

#define IODINE_TETROMINOES_SIZE 35
#define IODINE_TETROMINOES_PIECES 3
#define IODINE_DSPRITES_SIZE 64
#define IODINE_DSPRITES_MAX 5          /* colour variant: 2..5 sprites */
#define IODINE_DSPRITES_BINARY_MAX 3   /* binarized: 2..3 sprites */
#define IODINE_SCENES_SIZE 64
#define IODINE_SCENES_MAX 5            /* scenes: 1..5 objects */

/* Which tetrominoes scenes to draw: any (the dataset), or only those where
 * two pieces share a colour, or only those where two pieces of one colour
 * share a block edge (so that only their shapes tell them apart). */
typedef enum {
  IODINE_TETROMINOES_ANY,
  IODINE_TETROMINOES_SAME_COLOUR,
  IODINE_TETROMINOES_TOUCHING,
} IodineTetrominoesScene;
/* One tetrominoes scene of the kind `want` at 35×35: image [35, 35, 3],
 * labels [35, 35]. */
void iodine_tetrominoes_render (IodineRng *rng, IodineTetrominoesScene want, float *image,
                                uint8_t *labels);
/* The 19 fixed orientations: 4 (row, col) block cells each, rows/cols from 0. */
int iodine_tetrominoes_n_shapes (void);
void iodine_tetrominoes_shape (int index, int cells[4][2]);
/* Per-pixel intensity of a 5×5 block (×255), as in DeepMind's dataset. */
extern const uint8_t iodine_tetrominoes_shading[5][5];
/* The 6 colours (red, green, blue, yellow, magenta, cyan), channels 0 or 1. */
extern const uint8_t iodine_tetrominoes_colours[6][3];

/* One multi-dSprites scene at 64×64 (binarized: white sprites on black). */
void iodine_dsprites_render (IodineRng *rng, gboolean binarized, float *image, uint8_t *labels);

/* HSV (each in [0, 1]) to RGB. */
void iodine_hsv_to_rgb (double h, double s, double v, float rgb[3]);
/* TRUE if each of the labels 1..n covers at least min_visible of the pixels. */
gboolean iodine_labels_all_visible (const uint8_t *labels, int pixels, int n, int min_visible);

/* One "scenes" picture at 64×64 (the general model's mix, dataset_scenes.c). */
void iodine_scenes_render (IodineRng *rng, float *image, uint8_t *labels);

/* images:DIR */
typedef struct IodineImageFolder IodineImageFolder;
IodineImageFolder *iodine_image_folder_open (const char *dir, int height, int width,
                                             uint64_t seed, GError **error);
gboolean iodine_image_folder_get (IodineImageFolder *f, uint64_t index, float *image,
                                  GError **error);
int iodine_image_folder_count (const IodineImageFolder *f);
void iodine_image_folder_free (IodineImageFolder *f);

#endif
