/* libFuzzer target: the image path of `iodine decompose` on arbitrary bytes.
 * iodine_image_load() takes a path (gdk-pixbuf picks the loader from the
 * contents), so each input is written to a temporary file first; then the
 * image is resized as decompose does (to the training size, and
 * centre-cropped as images:DIR datasets do). Loading must give either an
 * image of at least 2×2 whose pixels are all in [0, 1], or an IODINE_ERROR
 * with a message, and never crash, leak or read outside a buffer.
 *
 * Inputs whose header claims between 0.25 and 64 Mpixels are skipped: the
 * engine accepts up to 64 Mpixels (768 MB as floats), and decoding such
 * sizes would only make runs slow and hit libFuzzer's memory limit. Above
 * 64 Mpixels the engine refuses before decoding, and that is fuzzed. */
#include "image_io.h"
#include "iodine.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_MAX_PIXELS (1 << 18)

static char *path;

/* A g_critical is a precondition failing, a bug in whoever called the
 * function, so it aborts: with abort(), not GLib's fatal-log G_BREAKPOINT
 * (SIGTRAP), which libFuzzer does not catch, so the input would not be
 * saved. The first one found, gdk_pixbuf_get_file_info() on a 0×0 GIF, was
 * ours to avoid (now tests/data/bad/zero-size.gif).
 *
 * Except criticals of gdk-pixbuf's own loaders on damaged files, e.g. the
 * GIF loader's "gdk_pixbuf_calculate_rowstride: assertion 'width > 0'" on a
 * 0-wide frame (tests/data/bad/zero-width-frame.gif): they are bugs of
 * gdk-pixbuf, which then fails cleanly, and libiodine cannot prevent them.
 * Each distinct GdkPixbuf message is printed once and the run goes on.
 * Warnings are not fatal: loaders warn about damaged files they decode. */
static void
on_log (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
  (void) data;
  if (!(level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)))
    return;
  if (g_strcmp0 (domain, "GdkPixbuf") == 0 && !(level & G_LOG_LEVEL_ERROR))
    {
      static GHashTable *seen;
      if (!seen)
        seen = g_hash_table_new (g_str_hash, g_str_equal);
      if (!g_hash_table_contains (seen, message))
        {
          g_hash_table_add (seen, g_strdup (message));
          fprintf (stderr, "gdk-pixbuf critical (not fatal, first time): %s\n", message);
        }
      return;
    }
  fprintf (stderr, "fatal %s-CRITICAL: %s\n", domain ? domain : "", message);
  abort ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  g_log_set_default_handler (on_log, NULL);
  /* The ICO and ANI loaders g_malloc0() buffers sized from the header, up
   * to hundreds of MB for a 200-byte file; glibc hands out such zeroed
   * pages lazily (`iodine decompose` refuses the file in 0.1 s), but ASan
   * touches every byte, so one input takes 10-25 s and libFuzzer stops on
   * its -timeout. Those two loaders are left out of this target. */
  GSList *formats = gdk_pixbuf_get_formats ();
  for (GSList *l = formats; l; l = l->next)
    {
      char *name = gdk_pixbuf_format_get_name (l->data);
      if (g_strcmp0 (name, "ico") == 0 || g_strcmp0 (name, "ani") == 0)
        gdk_pixbuf_format_set_disabled (l->data, TRUE);
      g_free (name);
    }
  g_slist_free (formats);
  const char *dir = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir ();
  path = g_strdup_printf ("%s/iodine-fuzz-image-%d", dir, (int) getpid ());
  return 0;
}

static void
on_size (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  int *size = data;
  size[0] = width;
  size[1] = height;
  gdk_pixbuf_loader_set_size (loader, 0, 0);
}

/* Width × height the header claims, or 0 (as the engine's own probe does;
 * gdk_pixbuf_get_file_info() would log a critical on 0×0 headers). */
static int64_t
claimed_pixels (const uint8_t *data, size_t size)
{
  int wh[2] = { 0, 0 };
  GdkPixbufLoader *loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size), wh);
  gdk_pixbuf_loader_write (loader, data, size, NULL);
  gdk_pixbuf_loader_close (loader, NULL);
  g_object_unref (loader);
  return (int64_t) wh[0] * wh[1];
}

static void
check_image (const IodineImage *im, int width, int height)
{
  if (!im || im->width != width || im->height != height)
    __builtin_trap ();
  for (size_t i = 0; i < (size_t) width * height * 3; i++)
    /* NaN fails too; the area weights of a resize sum to 1 only up to
     * float rounding, so an all-white row may come out at 1 + 1e-7 */
    if (!(im->rgb[i] >= 0.0f && im->rgb[i] <= 1.0f + 1e-5f))
      __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int64_t pixels = size ? claimed_pixels (data, size) : 0;
  if (pixels > FUZZ_MAX_PIXELS && pixels <= (1 << 26))
    return 0;
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    abort ();

  GError *error = NULL;
  IodineImage *im = iodine_image_load (path, &error);
  g_unlink (path);
  if (!im)
    {
      if (!error || error->domain != IODINE_ERROR || !error->message[0])
        __builtin_trap ();   /* failure without an explanation */
      g_error_free (error);
      return 0;
    }
  if (error || im->width < 2 || im->height < 2)
    __builtin_trap ();
  check_image (im, im->width, im->height);

  /* as decompose (training size) and the images:DIR dataset (crop) do */
  IodineImage *small = iodine_image_resize (im, 16, 12);
  check_image (small, 16, 12);
  IodineImage *crop = iodine_image_resize_crop (im, 5, 9);
  check_image (crop, 5, 9);
  IodineImage *big = iodine_image_resize (im, MIN (im->width * 2 + 1, 64), 3);
  check_image (big, MIN (im->width * 2 + 1, 64), 3);
  iodine_image_free (big);
  iodine_image_free (crop);
  iodine_image_free (small);
  iodine_image_free (im);
  return 0;
}
