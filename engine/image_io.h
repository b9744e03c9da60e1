/* Image files in and out: any format gdk-pixbuf reads (PNG, JPEG, grey,
 * alpha, palette, 16-bit PNG), as float RGB in [0, 1]. */
#ifndef IODINE_IMAGE_IO_H
#define IODINE_IMAGE_IO_H

#include <glib.h>

typedef struct {
  int width, height;
  float *rgb;                /* [height, width, 3] */
} IodineImage;

/* Loads an image; transparency is composited over black. Refuses 0-byte,
 * non-image and 1×1 files with a message naming the file and the problem. */
IodineImage *iodine_image_load (const char *path, GError **error);
IodineImage *iodine_image_new (int width, int height);
void iodine_image_free (IodineImage *image);
/* Area-averaging when shrinking, bilinear when enlarging. */
IodineImage *iodine_image_resize (const IodineImage *image, int width, int height);
/* Centre-crops to the target aspect ratio, then resizes. */
IodineImage *iodine_image_resize_crop (const IodineImage *image, int width, int height);
/* Writes an 8-bit PNG from float data in [0,1] (clamped); channels 1, 3 or 4. */
gboolean iodine_png_write (const char *path, const float *pixels, int width, int height,
                           int channels, GError **error);

#endif
