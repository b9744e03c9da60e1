/* Image loading (grey, alpha, palette, 16-bit PNGs from tests/data/images/,
 * made by make-test-pngs.py), the error cases, resizing on small known
 * images, and PNG writing. */
#include "image_io.h"
#include "iodine.h"
#include "sheet.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *
data_path (const char *name)
{
  const char *src = g_getenv ("IODINE_SOURCE_DIR");
  g_assert_nonnull (src);
  return g_build_filename (src, "tests", "data", "images", name, NULL);
}

static IodineImage *
load_ok (const char *name)
{
  char *path = data_path (name);
  GError *error = NULL;
  IodineImage *image = iodine_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (image);
  g_free (path);
  return image;
}

static void
check_px (const IodineImage *im, int x, int y, double r, double g, double b, double tol)
{
  const float *p = im->rgb + ((size_t) y * im->width + x) * 3;
  if (fabs (p[0] - r) > tol || fabs (p[1] - g) > tol || fabs (p[2] - b) > tol)
    g_error ("pixel (%d, %d) = (%g, %g, %g), expected (%g, %g, %g)", x, y, p[0], p[1], p[2],
             r, g, b);
}

#define EXACT 1e-6
#define BYTE (1.0 / 255.0 + 1e-6)

static void
test_load_formats (void)
{
  IodineImage *im = load_ok ("grey.png");
  g_assert_cmpint (im->width, ==, 4);
  g_assert_cmpint (im->height, ==, 3);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      {
        double v = (60 * x + 10 * y) / 255.0;
        check_px (im, x, y, v, v, v, EXACT);
      }
  iodine_image_free (im);

  /* Alpha composited over black. */
  im = load_ok ("grey-alpha.png");
  check_px (im, 0, 0, 200 / 255.0, 200 / 255.0, 200 / 255.0, EXACT);
  double half = 200 / 255.0 * 128 / 255.0;
  check_px (im, 1, 0, half, half, half, EXACT);
  check_px (im, 0, 1, 0, 0, 0, EXACT);
  check_px (im, 1, 1, 100 / 255.0, 100 / 255.0, 100 / 255.0, EXACT);
  iodine_image_free (im);

  im = load_ok ("palette.png");
  g_assert_cmpint (im->width, ==, 3);
  check_px (im, 0, 0, 1, 0, 0, EXACT);
  check_px (im, 1, 0, 0, 1, 0, EXACT);
  check_px (im, 2, 0, 0, 0, 1, EXACT);
  check_px (im, 0, 1, 0, 0, 1, EXACT);
  iodine_image_free (im);

  im = load_ok ("rgb16.png");
  check_px (im, 0, 0, 1, 32896 / 65535.0, 0, BYTE);
  check_px (im, 1, 0, 0, 0, 1, BYTE);
  check_px (im, 0, 1, 0, 0, 1, BYTE);
  iodine_image_free (im);

  im = load_ok ("rgba.png");
  check_px (im, 0, 0, 128 / 255.0, 128 / 255.0, 128 / 255.0, EXACT);
  check_px (im, 1, 0, 10 / 255.0, 20 / 255.0, 30 / 255.0, EXACT);
  check_px (im, 0, 1, 0, 0, 0, EXACT);
  check_px (im, 1, 1, 0, 1, 0, EXACT);
  iodine_image_free (im);
}

static void
expect_error (const char *path, int code, const char *fragment)
{
  GError *error = NULL;
  IodineImage *im = iodine_image_load (path, &error);
  g_assert_null (im);
  g_assert_error (error, IODINE_ERROR, code);
  if (strstr (error->message, path) == NULL || strstr (error->message, fragment) == NULL)
    g_error ("message \"%s\" should name %s and say \"%s\"", error->message, path, fragment);
  g_error_free (error);
}

static void
test_load_errors (void)
{
  char *p = data_path ("empty.png");
  expect_error (p, IODINE_ERROR_FORMAT, "empty");
  g_free (p);
  p = data_path ("text.png");
  expect_error (p, IODINE_ERROR_FORMAT, "not a readable image");
  g_free (p);
  p = data_path ("one-pixel.png");
  expect_error (p, IODINE_ERROR_INVALID, "2×2");
  g_free (p);
  p = data_path ("huge.png");
  expect_error (p, IODINE_ERROR_MEMORY, "10000×9000");
  g_free (p);
  p = data_path ("no-such-file.png");
  expect_error (p, IODINE_ERROR_IO, "cannot open");
  g_free (p);
  p = data_path ("");
  expect_error (p, IODINE_ERROR_IO, "folder");
  g_free (p);
}

static IodineImage *
make (int w, int h, const float *grey)
{
  IodineImage *im = iodine_image_new (w, h);
  for (int i = 0; i < w * h; i++)
    for (int c = 0; c < 3; c++)
      im->rgb[i * 3 + c] = grey[i] + 0.1f * c;
  return im;
}

static void
check_grey (const IodineImage *im, const float *want)
{
  for (int i = 0; i < im->width * im->height; i++)
    for (int c = 0; c < 3; c++)
      if (fabsf (im->rgb[i * 3 + c] - (want[i] + 0.1f * c)) > 1e-5f)
        g_error ("pixel %d channel %d = %g, expected %g", i, c, im->rgb[i * 3 + c],
                 want[i] + 0.1f * c);
}

static void
test_resize (void)
{
  /* 4×4 -> 2×2: means of 2×2 blocks. */
  float a[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
  for (int i = 0; i < 16; i++)
    a[i] /= 16.0f;
  IodineImage *im = make (4, 4, a);
  IodineImage *r = iodine_image_resize (im, 2, 2);
  float want[4] = { 2.5f / 16, 4.5f / 16, 10.5f / 16, 12.5f / 16 };
  check_grey (r, want);
  iodine_image_free (r);

  /* Same size: identity. */
  r = iodine_image_resize (im, 4, 4);
  check_grey (r, a);
  iodine_image_free (r);

  /* 4×4 -> 3×1: fractional area; row means 1.5, 5.5, 9.5, 13.5 (/16) mixed
   * over [0, 4/3) [4/3, 8/3) [8/3, 4) of the columns. */
  r = iodine_image_resize (im, 3, 1);
  float col_mean[4] = { 6.0f / 16, 7.0f / 16, 8.0f / 16, 9.0f / 16 };
  float w3[3] = {
    (col_mean[0] + col_mean[1] / 3) * 0.75f,
    (col_mean[1] * 2 / 3 + col_mean[2] * 2 / 3) * 0.75f,
    (col_mean[2] / 3 + col_mean[3]) * 0.75f,
  };
  check_grey (r, w3);
  iodine_image_free (r);
  iodine_image_free (im);

  /* 2×1 -> 4×1: bilinear on pixel centres, edges clamped. */
  float b[2] = { 0.0f, 0.8f };
  im = make (2, 1, b);
  r = iodine_image_resize (im, 4, 1);
  float wb[4] = { 0.0f, 0.2f, 0.6f, 0.8f };
  check_grey (r, wb);
  iodine_image_free (r);
  iodine_image_free (im);

  /* A constant picture stays constant, whatever the sizes. */
  static float c[64 * 64]; /* big enough for every output size below */
  for (int i = 0; i < 64 * 64; i++)
    c[i] = 0.3f;
  im = make (35, 17, c);
  int sizes[][2] = { { 64, 64 }, { 3, 40 }, { 34, 18 }, { 100, 2 } };
  for (int s = 0; s < 4; s++)
    {
      r = iodine_image_resize (im, sizes[s][0], sizes[s][1]);
      g_assert_cmpint (r->width, ==, sizes[s][0]);
      g_assert_cmpint (r->height, ==, sizes[s][1]);
      check_grey (r, c);
      iodine_image_free (r);
    }
  iodine_image_free (im);
}

/* White stays white when a very wide or tall image shrinks: each output
 * pixel sums thousands of weights, which in float came to 1 + 4e-5 for a
 * 65000×3 white image shrunk to 16 wide (fuzz-image found it). */
static void
test_resize_white_stays_white (void)
{
  int shapes[][2] = { { 65000, 3 }, { 3, 65000 }, { 257241, 1 }, { 1, 252256 } };
  int outs[][2] = { { 16, 12 }, { 5, 9 }, { 3, 3 }, { 64, 64 } };
  for (int s = 0; s < 4; s++)
    {
      IodineImage *im = iodine_image_new (shapes[s][0], shapes[s][1]);
      for (size_t i = 0; i < (size_t) im->width * im->height * 3; i++)
        im->rgb[i] = 1.0f;
      for (int o = 0; o < 4; o++)
        {
          IodineImage *r = iodine_image_resize (im, outs[o][0], outs[o][1]);
          IodineImage *c = iodine_image_resize_crop (im, outs[o][0], outs[o][1]);
          for (size_t i = 0; i < (size_t) outs[o][0] * outs[o][1] * 3; i++)
            {
              /* one float step above 1 (1.2e-7) is rounding; 1e-6 is not */
              if (fabsf (r->rgb[i] - 1.0f) > 1e-6f || fabsf (c->rgb[i] - 1.0f) > 1e-6f)
                g_error ("%d×%d white -> %d×%d: sample %zu is %.9g (resize) / %.9g (crop)",
                         shapes[s][0], shapes[s][1], outs[o][0], outs[o][1], i,
                         r->rgb[i], c->rgb[i]);
            }
          iodine_image_free (c);
          iodine_image_free (r);
        }
      iodine_image_free (im);
    }
}

static void
test_resize_crop (void)
{
  /* 6×2 -> 2×2 keeps the middle columns 2 and 3. */
  float a[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
  for (int i = 0; i < 12; i++)
    a[i] /= 12.0f;
  IodineImage *im = make (6, 2, a);
  IodineImage *r = iodine_image_resize_crop (im, 2, 2);
  float want[4] = { 2 / 12.0f, 3 / 12.0f, 8 / 12.0f, 9 / 12.0f };
  check_grey (r, want);
  iodine_image_free (r);
  iodine_image_free (im);

  /* 2×6 -> 1×1 (tall): middle rows 2, 3 averaged. */
  im = make (2, 6, a);
  r = iodine_image_resize_crop (im, 1, 1);
  float want1[1] = { (4 + 5 + 6 + 7) / 4.0f / 12.0f };
  check_grey (r, want1);
  iodine_image_free (r);
  iodine_image_free (im);
}

static void
test_png_write (void)
{
  char *dir = g_dir_make_tmp ("iodine-image-io-XXXXXX", NULL);
  g_assert_nonnull (dir);
  char *path = g_build_filename (dir, "out.png", NULL);
  GError *error = NULL;

  float grey[6] = { 0.0f, 0.2f, 0.4f, 0.6f, 1.0f, 2.0f /* clamped */ };
  g_assert_true (iodine_png_write (path, grey, 3, 2, 1, &error));
  g_assert_no_error (error);
  IodineImage *im = iodine_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (im->width, ==, 3);
  g_assert_cmpint (im->height, ==, 2);
  for (int i = 0; i < 6; i++)
    check_px (im, i % 3, i / 3, MIN (grey[i], 1), MIN (grey[i], 1), MIN (grey[i], 1), BYTE / 2);
  iodine_image_free (im);

  float rgb[12] = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.5f, -1 };
  g_assert_true (iodine_png_write (path, rgb, 2, 2, 3, &error));
  im = iodine_image_load (path, &error);
  g_assert_no_error (error);
  check_px (im, 0, 0, 1, 0, 0, EXACT);
  check_px (im, 1, 1, 128 / 255.0, 128 / 255.0, 0, EXACT);
  iodine_image_free (im);

  float rgba[16] = { 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0.5f, 0, 0, 0, 1 };
  g_assert_true (iodine_png_write (path, rgba, 2, 2, 4, &error));
  im = iodine_image_load (path, &error);
  g_assert_no_error (error);
  check_px (im, 0, 0, 1, 1, 1, EXACT);
  check_px (im, 1, 0, 0, 0, 0, EXACT);
  check_px (im, 0, 1, 128 / 255.0, 0, 0, EXACT);
  iodine_image_free (im);

  g_assert_false (iodine_png_write (path, rgb, 2, 2, 2, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  char *bad = g_build_filename (dir, "no-such-dir", "x.png", NULL);
  g_assert_false (iodine_png_write (bad, rgb, 2, 2, 3, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);

  g_remove (path);
  g_rmdir (dir);
  g_free (bad);
  g_free (path);
  g_free (dir);
}

/* --- sheets --- */

static IodineResult *
fake_result (int h, int w, int slots)
{
  IodineResult *r = g_new0 (IodineResult, 1);
  size_t n = (size_t) h * w;
  r->slots = slots;
  r->height = h;
  r->width = w;
  r->image = g_new (float, n * 3);
  r->masks = g_new (float, slots * n);
  r->means = g_new (float, slots * n * 3);
  for (size_t i = 0; i < n; i++)
    {
      float sum = 0;
      for (int k = 0; k < slots; k++)
        sum += r->masks[k * n + i] = 1.0f + (float) ((i + k * 7) % 5);
      for (int k = 0; k < slots; k++)
        r->masks[k * n + i] /= sum;
      for (int c = 0; c < 3; c++)
        {
          r->image[i * 3 + c] = (float) ((i * 3 + c) % 11) / 10.0f;
          for (int k = 0; k < slots; k++)
            r->means[(k * n + i) * 3 + c] = (float) (k + c) / (slots + 3);
        }
    }
  return r;
}

static void
free_fake (IodineResult *r)
{
  g_free (r->image);
  g_free (r->masks);
  g_free (r->means);
  g_free (r);
}

static void
test_sheet (void)
{
  /* Two results of different sizes and K: cells of the largest size,
   * columns for the largest K, 2-pixel gaps. */
  IodineResult *r[2] = { fake_result (5, 7, 3), fake_result (6, 4, 4) };
  char *dir = g_dir_make_tmp ("iodine-sheet-XXXXXX", NULL);
  char *path = g_build_filename (dir, "sheet.png", NULL);
  GError *error = NULL;
  g_assert_true (iodine_sheet_write (path, r, 2, 3, &error));
  g_assert_no_error (error);
  IodineImage *im = iodine_image_load (path, &error);
  g_assert_no_error (error);
  int cols = 3 + 4;
  g_assert_cmpint (im->width, ==, 2 + cols * (7 * 3 + 2));
  g_assert_cmpint (im->height, ==, 2 + 2 * (6 * 3 + 2));
  int w, h;
  iodine_sheet_size (r, 2, 3, &w, &h);
  g_assert_cmpint (w, ==, im->width);
  g_assert_cmpint (h, ==, im->height);
  /* The gap is white, the input cell holds the input, zoomed. */
  check_px (im, 0, 0, 1, 1, 1, EXACT);
  const float *in = r[0]->image + (1 * 7 + 2) * 3;
  check_px (im, 2 + 2 * 3 + 1, 2 + 1 * 3 + 2, in[0], in[1], in[2], BYTE / 2);
  iodine_image_free (im);

  /* Reconstruction Σ m_k μ_k. */
  float *rec = g_new (float, 5 * 7 * 3);
  iodine_result_reconstruction (r[0], rec);
  size_t n = 35;
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      {
        double want = 0;
        for (int k = 0; k < 3; k++)
          want += r[0]->masks[k * n + i] * r[0]->means[(k * n + i) * 3 + c];
        g_assert_cmpfloat (fabs (rec[i * 3 + c] - want), <, 1e-6);
      }
  g_free (rec);

  /* Per-slot pictures. */
  char *slots = g_build_filename (dir, "slots", NULL);
  g_assert_true (iodine_result_write_pngs (r[0], slots, &error));
  g_assert_no_error (error);
  const char *names[] = { "slot-0-mask.png", "slot-2-means.png", "slot-1-object.png", "overview.png" };
  for (int i = 0; i < 4; i++)
    {
      char *p = g_build_filename (slots, names[i], NULL);
      im = iodine_image_load (p, &error);
      g_assert_no_error (error);
      if (i < 3)
        {
          g_assert_cmpint (im->width, ==, 7);
          g_assert_cmpint (im->height, ==, 5);
        }
      if (i == 0)
        {
          float m = r[0]->masks[0];
          check_px (im, 0, 0, m, m, m, BYTE / 2);
        }
      iodine_image_free (im);
      g_free (p);
    }
  g_assert_false (iodine_result_write_pngs (NULL, slots, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (iodine_sheet_write (path, r, 2, 0, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);

  /* Slot colours differ from one another. */
  for (int a = 0; a < IODINE_MAX_SLOTS; a++)
    for (int b = 0; b < a; b++)
      {
        float ca[3], cb[3];
        iodine_slot_colour (a, ca);
        iodine_slot_colour (b, cb);
        g_assert_true (ca[0] != cb[0] || ca[1] != cb[1] || ca[2] != cb[2]);
      }

  /* Clean up. */
  GDir *d = g_dir_open (slots, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (slots, name, NULL);
      g_remove (p);
      g_free (p);
    }
  g_dir_close (d);
  g_rmdir (slots);
  g_remove (path);
  g_rmdir (dir);
  g_free (slots);
  g_free (path);
  g_free (dir);
  free_fake (r[0]);
  free_fake (r[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image-io/load-formats", test_load_formats);
  g_test_add_func ("/image-io/load-errors", test_load_errors);
  g_test_add_func ("/image-io/resize", test_resize);
  g_test_add_func ("/image-io/resize-white-stays-white", test_resize_white_stays_white);
  g_test_add_func ("/image-io/resize-crop", test_resize_crop);
  g_test_add_func ("/image-io/png-write", test_png_write);
  g_test_add_func ("/image-io/sheet", test_sheet);
  return g_test_run ();
}
