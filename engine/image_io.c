/* Image files in and out through gdk-pixbuf, and resizing.
 *
 * gdk-pixbuf already expands grey, palette and 16-bit PNGs to 8-bit RGB(A),
 * so loading only has to composite the alpha channel and convert to float.
 * Resizing is separable: each axis is resampled on its own, by area averaging
 * when it shrinks (every source pixel counts, no aliasing) and bilinearly
 * when it grows (no blocky nearest-neighbour steps). Each output sample is
 * summed in double: shrinking a 65000-pixel-wide white row to 16 pixels
 * adds 4000 weights of 1/4062.5, and in float that came to 1 + 4e-5, a
 * pixel brighter than white (found by fuzz-image).
 */
#include "image_io.h"
#include "iodine.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <math.h>
#include <string.h>

/* 64 Mpixels: 768 MB as floats. */
#define IODINE_IMAGE_MAX_PIXELS (1 << 26)

IodineImage *
iodine_image_new (int width, int height)
{
  if (width <= 0 || height <= 0)
    return NULL;
  IodineImage *image = g_new0 (IodineImage, 1);
  image->width = width;
  image->height = height;
  image->rgb = g_new0 (float, (size_t) width * height * 3);
  return image;
}

void
iodine_image_free (IodineImage *image)
{
  if (image == NULL)
    return;
  g_free (image->rgb);
  g_free (image);
}

typedef struct {
  int width, height;
  gboolean known;
} SizeProbe;

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  SizeProbe *p = data;
  p->width = width;
  p->height = height;
  p->known = TRUE;
  /* the size is all we want: make the loader stop decoding */
  gdk_pixbuf_loader_set_size (loader, 0, 0);
}

/* The size an image file's header claims, without decoding it. Like
 * gdk_pixbuf_get_file_info(), which, however, logs a GdkPixbuf-CRITICAL
 * (info_cb: assertion 'width > 0 && height > 0') when a damaged header
 * says 0×0, e.g. a GIF; here any size is recorded and judged later. */
static gboolean
probe_size (const char *path, int *width, int *height)
{
  FILE *f = g_fopen (path, "rb");
  if (!f)
    return FALSE;
  GdkPixbufLoader *loader = gdk_pixbuf_loader_new ();
  SizeProbe p = { 0, 0, FALSE };
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &p);
  guchar buf[4096];
  size_t n;
  while (!p.known && (n = fread (buf, 1, sizeof buf, f)) > 0)
    if (!gdk_pixbuf_loader_write (loader, buf, n, NULL))
      break;
  fclose (f);
  gdk_pixbuf_loader_close (loader, NULL);
  g_object_unref (loader);
  *width = p.width;
  *height = p.height;
  return p.known;
}

IodineImage *
iodine_image_load (const char *path, GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
                   "%s: cannot open image: %s", path, g_strerror (errno));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
                   "%s: is a folder, not an image file", path);
      return NULL;
    }
  if (st.st_size == 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_FORMAT,
                   "%s: the file is empty (0 bytes), not an image", path);
      return NULL;
    }

  /* Refuse absurd sizes before decoding: as floats an image takes 12 bytes
   * a pixel. */
  int fw = 0, fh = 0;
  if (probe_size (path, &fw, &fh) && (int64_t) fw * fh > IODINE_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "%s: image is %d×%d pixels, more than the %d megapixels allowed",
                   path, fw, fh, IODINE_IMAGE_MAX_PIXELS >> 20);
      return NULL;
    }

  GError *local = NULL;
  GdkPixbuf *loaded = gdk_pixbuf_new_from_file (path, &local);
  if (loaded == NULL)
    {
      gboolean io = local && local->domain == G_FILE_ERROR;
      g_set_error (error, IODINE_ERROR, io ? IODINE_ERROR_IO : IODINE_ERROR_FORMAT,
                   "%s: not a readable image: %s", path,
                   local ? local->message : "unknown error");
      g_clear_error (&local);
      return NULL;
    }
  /* JPEGs from cameras store their rotation separately; apply it so the
   * pixels are the way the picture is shown everywhere else. */
  GdkPixbuf *pb = gdk_pixbuf_apply_embedded_orientation (loaded);
  g_object_unref (loaded);
  if (pb == NULL)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "%s: out of memory while decoding", path);
      return NULL;
    }

  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int nc = gdk_pixbuf_get_n_channels (pb);
  int bps = gdk_pixbuf_get_bits_per_sample (pb);
  if (w < 2 || h < 2)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%s: image is %d×%d pixels; at least 2×2 is needed", path, w, h);
      g_object_unref (pb);
      return NULL;
    }
  if (bps != 8 || (nc != 3 && nc != 4))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_FORMAT,
                   "%s: unsupported pixel layout (%d channels, %d bits)", path, nc, bps);
      g_object_unref (pb);
      return NULL;
    }

  IodineImage *image = iodine_image_new (w, h);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < h; y++)
    {
      const guint8 *row = px + (size_t) y * stride;
      float *out = image->rgb + (size_t) y * w * 3;
      for (int x = 0; x < w; x++)
        {
          /* Alpha composited over black: premultiply. */
          float a = nc == 4 ? row[x * 4 + 3] / 255.0f : 1.0f;
          for (int c = 0; c < 3; c++)
            out[x * 3 + c] = row[x * nc + c] / 255.0f * a;
        }
    }
  g_object_unref (pb);
  return image;
}

/* One output sample along an axis: `n` taps starting at source index `first`. */
typedef struct {
  int first, n;
  float *w;
} Taps;

/* Builds the taps for resampling an axis of `in` samples to `out` samples. */
static Taps *
axis_taps (int in, int out)
{
  Taps *taps = g_new0 (Taps, out);
  double scale = (double) in / out;
  for (int j = 0; j < out; j++)
    {
      Taps *t = &taps[j];
      if (out < in)
        {
          /* Area: output j covers source [j·s, (j+1)·s); weight = overlap / s. */
          double a = j * scale, b = (j + 1) * scale;
          int i0 = (int) floor (a), i1 = (int) ceil (b);
          if (i1 > in)
            i1 = in;
          t->first = i0;
          t->n = i1 - i0;
          t->w = g_new (float, t->n);
          for (int i = i0; i < i1; i++)
            {
              double lo = MAX (a, (double) i), hi = MIN (b, (double) (i + 1));
              t->w[i - i0] = (float) (MAX (0.0, hi - lo) / scale);
            }
        }
      else
        {
          /* Bilinear with pixel centres at i + ½ (equal sizes: identity). */
          double src = (j + 0.5) * scale - 0.5;
          if (src < 0)
            src = 0;
          if (src > in - 1)
            src = in - 1;
          int i0 = (int) floor (src);
          double f = src - i0;
          t->first = i0;
          if (i0 + 1 < in && f > 0)
            {
              t->n = 2;
              t->w = g_new (float, 2);
              t->w[0] = (float) (1 - f);
              t->w[1] = (float) f;
            }
          else
            {
              t->n = 1;
              t->w = g_new (float, 1);
              t->w[0] = 1.0f;
            }
        }
    }
  return taps;
}

static void
taps_free (Taps *taps, int out)
{
  for (int j = 0; j < out; j++)
    g_free (taps[j].w);
  g_free (taps);
}

IodineImage *
iodine_image_resize (const IodineImage *image, int width, int height)
{
  if (image == NULL || width <= 0 || height <= 0)
    return NULL;
  int iw = image->width, ih = image->height;
  /* Horizontal pass: [ih, iw, 3] -> [ih, width, 3]. */
  float *tmp = g_new (float, (size_t) ih * width * 3);   /* every sample is set below */
  Taps *tx = axis_taps (iw, width);
  for (int y = 0; y < ih; y++)
    {
      const float *src = image->rgb + (size_t) y * iw * 3;
      float *dst = tmp + (size_t) y * width * 3;
      for (int x = 0; x < width; x++)
        {
          double acc[3] = { 0, 0, 0 };
          for (int k = 0; k < tx[x].n; k++)
            {
              const float *s = src + (size_t) (tx[x].first + k) * 3;
              double w = tx[x].w[k];
              acc[0] += w * s[0];
              acc[1] += w * s[1];
              acc[2] += w * s[2];
            }
          dst[x * 3 + 0] = (float) acc[0];
          dst[x * 3 + 1] = (float) acc[1];
          dst[x * 3 + 2] = (float) acc[2];
        }
    }
  taps_free (tx, width);

  /* Vertical pass: [ih, width, 3] -> [height, width, 3]. */
  IodineImage *out = iodine_image_new (width, height);
  Taps *ty = axis_taps (ih, height);
  size_t row = (size_t) width * 3;
  double *acc = g_new (double, row);
  for (int y = 0; y < height; y++)
    {
      memset (acc, 0, row * sizeof *acc);
      for (int k = 0; k < ty[y].n; k++)
        {
          const float *s = tmp + (size_t) (ty[y].first + k) * row;
          double w = ty[y].w[k];
          for (size_t i = 0; i < row; i++)
            acc[i] += w * s[i];
        }
      float *dst = out->rgb + y * row;
      for (size_t i = 0; i < row; i++)
        dst[i] = (float) acc[i];
    }
  g_free (acc);
  taps_free (ty, height);
  g_free (tmp);
  return out;
}

IodineImage *
iodine_image_resize_crop (const IodineImage *image, int width, int height)
{
  if (image == NULL || width <= 0 || height <= 0)
    return NULL;
  int iw = image->width, ih = image->height;
  int cw = iw, ch = ih;
  /* Compare aspect ratios with integers: iw/ih vs width/height. */
  if ((int64_t) iw * height > (int64_t) width * ih)
    cw = (int) MAX (1, llround ((double) ih * width / height));
  else
    ch = (int) MAX (1, llround ((double) iw * height / width));
  cw = MIN (cw, iw);
  ch = MIN (ch, ih);
  int x0 = (iw - cw) / 2, y0 = (ih - ch) / 2;

  IodineImage *crop = iodine_image_new (cw, ch);
  for (int y = 0; y < ch; y++)
    memcpy (crop->rgb + (size_t) y * cw * 3,
            image->rgb + ((size_t) (y0 + y) * iw + x0) * 3,
            (size_t) cw * 3 * sizeof (float));
  IodineImage *out = iodine_image_resize (crop, width, height);
  iodine_image_free (crop);
  return out;
}

static guint8
to_byte (float v)
{
  if (!(v > 0.0f)) /* also NaN */
    return 0;
  if (v >= 1.0f)
    return 255;
  return (guint8) lrintf (v * 255.0f);
}

gboolean
iodine_png_write (const char *path, const float *pixels, int width, int height,
                  int channels, GError **error)
{
  if (channels != 1 && channels != 3 && channels != 4)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%s: cannot write a PNG with %d channels (1, 3 or 4)", path, channels);
      return FALSE;
    }
  if (width <= 0 || height <= 0 || pixels == NULL)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "%s: cannot write a %d×%d image", path, width, height);
      return FALSE;
    }
  /* gdk-pixbuf has no grey pixbufs: one channel is written as grey RGB. */
  gboolean alpha = channels == 4;
  GdkPixbuf *pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  if (pb == NULL)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "%s: cannot allocate a %d×%d image", path, width, height);
      return FALSE;
    }
  int nc = gdk_pixbuf_get_n_channels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const float *s = pixels + ((size_t) y * width + x) * channels;
        guint8 *d = px + (size_t) y * stride + (size_t) x * nc;
        if (channels == 1)
          d[0] = d[1] = d[2] = to_byte (s[0]);
        else
          for (int c = 0; c < channels; c++)
            d[c] = to_byte (s[c]);
      }
  /* Written next to the target and renamed into place: a failed write (disk
   * full) leaves no truncated PNG, and the previous file, if any, stays. */
  GError *local = NULL;
  char *tmp = g_strconcat (path, ".tmp-XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  gboolean ok = fd >= 0;
  if (!ok)
    g_set_error (&local, G_FILE_ERROR, g_file_error_from_errno (errno),
                 "cannot create a temporary file next to it: %s", g_strerror (errno));
  else
    {
      close (fd);
      ok = gdk_pixbuf_save (pb, tmp, "png", &local, NULL);
      if (ok && g_rename (tmp, path) != 0)
        {
          ok = FALSE;
          g_set_error (&local, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "cannot replace it: %s", g_strerror (errno));
        }
      if (!ok)
        g_unlink (tmp);
    }
  g_free (tmp);
  g_object_unref (pb);
  if (!ok)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
                   "%s: cannot write PNG: %s", path, local ? local->message : "unknown error");
      g_clear_error (&local);
    }
  return ok;
}
