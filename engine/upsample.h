/* Resampling for the plug-in: masks computed at the model's training size
 * are brought back to the image's full resolution with an edge-aware
 * upsampling guided by the full-resolution image (a colour guided filter,
 * He et al. 2010/2015, computed with O(N) box filters). */
#ifndef IODINE_UPSAMPLE_H
#define IODINE_UPSAMPLE_H

#include <glib.h>

G_BEGIN_DECLS

/* Resizes a [h, w, c] float array to [H, W, c]: area averaging along an
 * axis that shrinks, bilinear interpolation (pixel centres aligned) along an
 * axis that grows. */
void iodine_resample (const float *src, int w, int h, int c, float *dst, int W, int H);

/* Edge-aware upsampling of n soft masks [n, h, w] (each pixel's values sum
 * to 1) to [n, H, W], guided by guide [H, W, 3] (RGB in [0, 1]): each pixel
 * takes the mean of the 4 × 4 nearest mask samples weighted by distance and
 * by the likeness of its colour to the colour of the image downscaled to
 * h × w at the sample; the result is clamped to [0, 1] and renormalised to
 * sum to 1 per pixel. Returns a newly allocated array (g_free), or NULL with
 * IODINE_ERROR_MEMORY if it cannot be allocated. */
float *iodine_upsample_masks (const float *masks, int n, int w, int h,
                              const float *guide, int W, int H, GError **error);

G_END_DECLS

#endif
