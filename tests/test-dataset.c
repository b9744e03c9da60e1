/* Datasets: determinism, the tetromino and dSprites scene rules, resizing,
 * images:DIR (sizes, epochs, errors).
 *
 * `test-dataset --dump DIR` instead writes example PNGs of every synthetic
 * dataset (single samples zoomed, and DIR/<dataset>-examples.png sheets as
 * committed under tests/data/images/). */
#include "dataset.h"
#include "dataset_private.h"
#include "image_io.h"
#include "iodine.h"
#include "sheet.h"
#include "tensorfile.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static IodineDataset *
open_ok (const char *spec, int h, int w, uint64_t seed)
{
  GError *error = NULL;
  IodineDataset *ds = iodine_dataset_new (spec, h, w, seed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ds);
  return ds;
}

static void
get_ok (IodineDataset *ds, uint64_t index, float *image, uint8_t *labels)
{
  GError *error = NULL;
  g_assert_true (iodine_dataset_get (ds, index, image, labels, &error));
  g_assert_no_error (error);
}

static void
test_determinism (void)
{
  const char *names[] = { "tetrominoes", "multi-dsprites", "multi-dsprites-binarized" };
  for (int d = 0; d < 3; d++)
    {
      IodineDataset *a = open_ok (names[d], 0, 0, 42);
      IodineDataset *b = open_ok (names[d], 0, 0, 42);
      IodineDataset *c = open_ok (names[d], 0, 0, 43);
      int h = iodine_dataset_height (a), w = iodine_dataset_width (a);
      size_t n = (size_t) h * w;
      float *i1 = g_new (float, n * 3), *i2 = g_new (float, n * 3);
      uint8_t *l1 = g_new (uint8_t, n), *l2 = g_new (uint8_t, n);

      /* Out of order, and from another object: the same bytes. */
      get_ok (a, 7, i1, l1);
      get_ok (a, 3, i2, l2);
      get_ok (b, 7, i2, l2);
      g_assert_cmpmem (i1, n * 3 * sizeof (float), i2, n * 3 * sizeof (float));
      g_assert_cmpmem (l1, n, l2, n);
      /* Labels are optional and do not change the image. */
      get_ok (b, 7, i2, NULL);
      g_assert_cmpmem (i1, n * 3 * sizeof (float), i2, n * 3 * sizeof (float));

      get_ok (a, 8, i2, l2);
      g_assert_true (memcmp (i1, i2, n * 3 * sizeof (float)) != 0);
      get_ok (c, 7, i2, l2);
      g_assert_true (memcmp (i1, i2, n * 3 * sizeof (float)) != 0);

      g_free (i1);
      g_free (i2);
      g_free (l1);
      g_free (l2);
      iodine_dataset_free (a);
      iodine_dataset_free (b);
      iodine_dataset_free (c);
    }
}

static void
test_info (void)
{
  int h = 0, w = 0;
  g_assert_true (iodine_dataset_native_size ("tetrominoes", &h, &w));
  g_assert_cmpint (h, ==, 35);
  g_assert_cmpint (w, ==, 35);
  g_assert_true (iodine_dataset_native_size ("multi-dsprites", &h, &w));
  g_assert_cmpint (h, ==, 64);
  g_assert_true (iodine_dataset_native_size ("multi-dsprites-binarized", &h, &w));
  g_assert_cmpint (w, ==, 64);
  g_assert_false (iodine_dataset_native_size ("clevr", &h, &w));
  g_assert_false (iodine_dataset_native_size (NULL, &h, &w));

  IodineDataset *ds = open_ok ("tetrominoes", 0, 0, 1);
  g_assert_true (iodine_dataset_has_labels (ds));
  g_assert_cmpint (iodine_dataset_max_objects (ds), ==, 4);
  g_assert_cmpint (iodine_dataset_count (ds), ==, 0);
  iodine_dataset_free (ds);
  ds = open_ok ("multi-dsprites", 0, 0, 1);
  g_assert_cmpint (iodine_dataset_max_objects (ds), ==, 6);
  iodine_dataset_free (ds);
  ds = open_ok ("multi-dsprites-binarized", 32, 48, 1);
  g_assert_cmpint (iodine_dataset_max_objects (ds), ==, 4);
  g_assert_cmpint (iodine_dataset_height (ds), ==, 32);
  g_assert_cmpint (iodine_dataset_width (ds), ==, 48);
  iodine_dataset_free (ds);

  struct { const char *spec; int h, w; const char *fragment; } bad[] = {
    { "clevr", 0, 0, "unknown dataset" },
    { "", 0, 0, "no dataset" },
    { "tetrominoes", 0, 35, "size" },
    { "tetrominoes", -3, -3, "size" },
    { "tetrominoes", 1, 1, "size" },
    { "multi-dsprites", 100000, 64, "size" },
    { "images:", 8, 8, "no folder" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;
      g_assert_null (iodine_dataset_new (bad[i].spec, bad[i].h, bad[i].w, 0, &error));
      g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
      if (strstr (error->message, bad[i].fragment) == NULL)
        g_error ("\"%s\": message \"%s\" lacks \"%s\"", bad[i].spec, error->message,
                 bad[i].fragment);
      g_error_free (error);
    }
  g_assert_null (iodine_dataset_new (NULL, 0, 0, 0, NULL));
}

static void
test_tetromino_shapes (void)
{
  /* 19 distinct, connected 4-block shapes anchored at row 0 and column 0. */
  g_assert_cmpint (iodine_tetrominoes_n_shapes (), ==, 19);
  uint16_t seen[19];
  for (int s = 0; s < 19; s++)
    {
      int cells[4][2];
      iodine_tetrominoes_shape (s, cells);
      uint16_t bits = 0;
      int minr = 9, minc = 9;
      for (int i = 0; i < 4; i++)
        {
          g_assert_true (cells[i][0] >= 0 && cells[i][0] < 4 && cells[i][1] >= 0 && cells[i][1] < 4);
          bits |= (uint16_t) (1u << (cells[i][0] * 4 + cells[i][1]));
          minr = MIN (minr, cells[i][0]);
          minc = MIN (minc, cells[i][1]);
        }
      g_assert_cmpint (__builtin_popcount (bits), ==, 4);
      g_assert_cmpint (minr, ==, 0);
      g_assert_cmpint (minc, ==, 0);
      for (int i = 0; i < 4; i++)
        {
          int nb = 0;
          for (int j = 0; j < 4; j++)
            nb += abs (cells[i][0] - cells[j][0]) + abs (cells[i][1] - cells[j][1]) == 1;
          g_assert_cmpint (nb, >=, 1);
        }
      for (int t = 0; t < s; t++)
        g_assert_cmpint (seen[t], !=, bits);
      seen[s] = bits;
    }
}

static void
test_tetrominoes (void)
{
  IodineDataset *ds = open_ok ("tetrominoes", 0, 0, 7);
  enum { S = 35 };
  float image[S * S * 3];
  uint8_t labels[S * S];
  int colour_used[6] = { 0 };
  for (int index = 0; index < 200; index++)
    {
      get_ok (ds, (uint64_t) index, image, labels);
      int count[4] = { 0 };
      for (int i = 0; i < S * S; i++)
        {
          g_assert_cmpint (labels[i], <=, 3);
          count[labels[i]]++;
        }
      for (int p = 1; p <= 3; p++)
        g_assert_cmpint (count[p], ==, 100);

      /* Every 5×5 block belongs to one piece (or none) and is shaded. */
      for (int by = 0; by < 7; by++)
        for (int bx = 0; bx < 7; bx++)
          {
            int p = labels[by * 5 * S + bx * 5];
            int colour = -1;
            for (int y = 0; y < 5; y++)
              for (int x = 0; x < 5; x++)
                {
                  int i = (by * 5 + y) * S + bx * 5 + x;
                  g_assert_cmpint (labels[i], ==, p);
                  int v[3];
                  for (int c = 0; c < 3; c++)
                    {
                      float f = image[i * 3 + c] * 255.0f;
                      v[c] = (int) lrintf (f);
                      g_assert_cmpfloat (fabsf (f - v[c]), <, 1e-3f);
                    }
                  if (p == 0)
                    {
                      g_assert_true (v[0] == 0 && v[1] == 0 && v[2] == 0);
                      continue;
                    }
                  int shade = iodine_tetrominoes_shading[y][x];
                  int k;
                  for (k = 0; k < 6; k++)
                    if (v[0] == shade * iodine_tetrominoes_colours[k][0]
                        && v[1] == shade * iodine_tetrominoes_colours[k][1]
                        && v[2] == shade * iodine_tetrominoes_colours[k][2])
                      break;
                  g_assert_cmpint (k, <, 6);
                  if (colour < 0)
                    colour = k;
                  g_assert_cmpint (colour, ==, k);
                }
            if (colour >= 0)
              colour_used[colour]++;
          }
    }
  for (int k = 0; k < 6; k++)
    g_assert_cmpint (colour_used[k], >, 0);

  /* The documented shading of a block, literally. */
  const uint8_t want[5][5] = { { 191, 255, 255, 255, 223 }, { 127, 159, 159, 159, 191 },
                               { 127, 159, 159, 159, 191 }, { 127, 159, 159, 159, 191 },
                               { 95, 63, 63, 63, 127 } };
  g_assert_cmpmem (want, sizeof want, iodine_tetrominoes_shading, sizeof want);
  iodine_dataset_free (ds);
}

static void
check_dsprites (gboolean binarized)
{
  IodineDataset *ds = open_ok (binarized ? "multi-dsprites-binarized" : "multi-dsprites", 0, 0, 11);
  enum { S = 64 };
  float *image = g_new (float, S * S * 3);
  uint8_t labels[S * S];
  int n_seen[6] = { 0 };
  for (int index = 0; index < 150; index++)
    {
      get_ok (ds, (uint64_t) index, image, labels);
      int count[256] = { 0 };
      float colour[256][3];
      int n = 0;
      for (int i = 0; i < S * S; i++)
        {
          int l = labels[i];
          if (count[l]++ == 0)
            memcpy (colour[l], image + i * 3, sizeof colour[l]);
          /* Every pixel has its object's (or the background's) colour. */
          for (int c = 0; c < 3; c++)
            g_assert_cmpfloat (image[i * 3 + c], ==, colour[l][c]);
          n = MAX (n, l);
        }
      g_assert_cmpint (count[0], >, 0);
      /* Labels 1..n all visible, with a few pixels each. */
      for (int l = 1; l <= n; l++)
        g_assert_cmpint (count[l], >=, 10);
      g_assert_cmpint (n, >=, 2);
      g_assert_cmpint (n, <=, binarized ? 3 : 5);
      n_seen[n]++;
      /* Grey background; white on black when binarized. */
      g_assert_cmpfloat (colour[0][0], ==, colour[0][1]);
      g_assert_cmpfloat (colour[0][1], ==, colour[0][2]);
      g_assert_true (colour[0][0] >= 0.0f && colour[0][0] <= 1.0f);
      if (binarized)
        {
          g_assert_cmpfloat (colour[0][0], ==, 0.0f);
          for (int l = 1; l <= n; l++)
            for (int c = 0; c < 3; c++)
              g_assert_cmpfloat (colour[l][c], ==, 1.0f);
        }
    }
  for (int n = 2; n <= (binarized ? 3 : 5); n++)
    g_assert_cmpint (n_seen[n], >, 0);
  g_free (image);
  iodine_dataset_free (ds);
}

static void
test_dsprites (void)
{
  check_dsprites (FALSE);
}

static void
test_dsprites_binarized (void)
{
  check_dsprites (TRUE);
}

static void
test_resized (void)
{
  /* Twice the native size: labels by nearest neighbour are the native
   * labels doubled; an image of uniform regions keeps their values inside. */
  IodineDataset *native = open_ok ("tetrominoes", 0, 0, 5);
  IodineDataset *big = open_ok ("tetrominoes", 70, 70, 5);
  IodineDataset *small = open_ok ("multi-dsprites", 24, 40, 5);
  float *a = g_new (float, 70 * 70 * 3), *b = g_new (float, 70 * 70 * 3);
  uint8_t la[35 * 35], lb[70 * 70];
  get_ok (native, 3, a, la);
  get_ok (big, 3, b, lb);
  for (int y = 0; y < 70; y++)
    for (int x = 0; x < 70; x++)
      g_assert_cmpint (lb[y * 70 + x], ==, la[(y / 2) * 35 + x / 2]);
  for (int i = 0; i < 70 * 70 * 3; i++)
    g_assert_true (b[i] >= 0.0f && b[i] <= 1.0f);
  get_ok (small, 0, b, lb);
  for (int i = 0; i < 24 * 40; i++)
    g_assert_cmpint (lb[i], <=, 5);
  g_free (a);
  g_free (b);
  iodine_dataset_free (native);
  iodine_dataset_free (big);
  iodine_dataset_free (small);
}

/* The general model's mix: 1–5 objects, each visible on at least 12
 * pixels, every kind of background and every object count over 400 scenes,
 * values in [0, 1], and pixels of one object not all one colour in some
 * scenes (shading, stripes or noise). */
static void
test_scenes (void)
{
  IodineDataset *ds = open_ok ("scenes", 0, 0, 9);
  g_assert_cmpint (iodine_dataset_height (ds), ==, 64);
  g_assert_cmpint (iodine_dataset_width (ds), ==, 64);
  g_assert_cmpint (iodine_dataset_max_objects (ds), ==, 6);
  float *image = g_new (float, 64 * 64 * 3);
  uint8_t labels[64 * 64];
  int by_count[6] = { 0 }, flat_bg = 0, varied_bg = 0, varied_objects = 0;
  for (int i = 0; i < 400; i++)
    {
      get_ok (ds, (uint64_t) i, image, labels);
      int count[256] = { 0 }, n = 0;
      for (int p = 0; p < 64 * 64; p++)
        {
          count[labels[p]]++;
          g_assert_true (image[p * 3] >= 0.0f && image[p * 3] <= 1.0f);
        }
      for (int l = 1; l < 256; l++)
        if (count[l])
          {
            g_assert_cmpint (l, <=, 5);
            g_assert_cmpint (count[l], >=, 12);
            n = l;
          }
      /* labels are 1..n with none missing */
      for (int l = 1; l <= n; l++)
        g_assert_cmpint (count[l], >, 0);
      by_count[n]++;
      /* background: flat if its pixels are all equal */
      float lo = 2, hi = -1;
      float olo = 2, ohi = -1;
      for (int p = 0; p < 64 * 64; p++)
        {
          float v = image[p * 3 + 1];
          if (labels[p] == 0)
            lo = MIN (lo, v), hi = MAX (hi, v);
          else if (labels[p] == 1)
            olo = MIN (olo, v), ohi = MAX (ohi, v);
        }
      if (count[0] > 0)
        {
          if (hi - lo < 1e-6f)
            flat_bg++;
          else
            varied_bg++;
        }
      if (n >= 1 && ohi - olo > 0.05f)
        varied_objects++;
    }
  for (int n = 1; n <= 5; n++)
    g_assert_cmpint (by_count[n], >, 40);
  g_assert_cmpint (flat_bg, >, 20);
  g_assert_cmpint (varied_bg, >, 100);
  g_assert_cmpint (varied_objects, >, 100);
  g_free (image);
  iodine_dataset_free (ds);
}

/* --- images:DIR --- */

static void
write_uniform (const char *dir, const char *name, int w, int h, int channels, float v)
{
  float *px = g_new (float, (size_t) w * h * channels);
  for (int i = 0; i < w * h; i++)
    for (int c = 0; c < channels; c++)
      px[i * channels + c] = c == 3 ? 1.0f : v;
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;
  g_assert_true (iodine_png_write (path, px, w, h, channels, &error));
  g_assert_no_error (error);
  g_free (path);
  g_free (px);
}

static void
copy_file (const char *from, const char *dir, const char *name)
{
  char *contents;
  gsize len;
  g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
  char *to = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (to, contents, (gssize) len, NULL));
  g_free (to);
  g_free (contents);
}

static char *
data_path (const char *name)
{
  return g_build_filename (g_getenv ("IODINE_SOURCE_DIR"), "tests", "data", "images", name, NULL);
}

static void
remove_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (dir, name, NULL);
      g_remove (p);
      g_free (p);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

static void
expect_open_error (const char *spec, int code, const char *fragment)
{
  GError *error = NULL;
  g_assert_null (iodine_dataset_new (spec, 8, 8, 0, &error));
  g_assert_error (error, IODINE_ERROR, code);
  if (strstr (error->message, fragment) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, fragment);
  g_error_free (error);
}

static void
test_images (void)
{
  char *dir = g_dir_make_tmp ("iodine-images-XXXXXX", NULL);
  char *spec = g_strconcat ("images:", dir, NULL);

  expect_open_error (spec, IODINE_ERROR_INVALID, "no PNG or JPEG");
  GError *error = NULL;
  g_assert_null (iodine_dataset_new (spec, 0, 0, 0, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);

  /* Uniform pictures of known grey levels, of several sizes and kinds. */
  const float level[6] = { 0.2f, 0.4f, 0.6f, 0.8f, 1.0f, 0.0f };
  write_uniform (dir, "a.png", 40, 30, 3, level[0]);
  write_uniform (dir, "b.PNG", 7, 19, 4, level[1]);
  write_uniform (dir, "c.png", 3, 3, 1, level[2]);
  write_uniform (dir, "d.png", 100, 8, 3, level[3]);
  write_uniform (dir, "e.png", 64, 64, 3, level[4]);
  /* A JPEG, black (uniform levels survive JPEG almost exactly). */
  GdkPixbuf *pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 16, 12);
  gdk_pixbuf_fill (pb, 0x000000ff);
  char *jpeg = g_build_filename (dir, "f.jpg", NULL);
  g_assert_true (gdk_pixbuf_save (pb, jpeg, "jpeg", NULL, NULL));
  g_object_unref (pb);
  g_free (jpeg);
  char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "not an image", -1, NULL));
  /* A real grey PNG (4×3, non-uniform) sorts last. */
  char *grey = data_path ("grey.png");
  copy_file (grey, dir, "z-grey.png");
  const int n = 7;

  IodineDataset *ds = open_ok (spec, 6, 10, 99);
  IodineDataset *again = open_ok (spec, 6, 10, 99);
  g_assert_false (iodine_dataset_has_labels (ds));
  g_assert_cmpint (iodine_dataset_count (ds), ==, n);
  g_assert_cmpint (iodine_dataset_max_objects (ds), ==, 0);
  g_assert_cmpint (iodine_dataset_height (ds), ==, 6);
  g_assert_cmpint (iodine_dataset_width (ds), ==, 10);
  float image[6 * 10 * 3], other[6 * 10 * 3];
  int order[4][7];
  for (int epoch = 0; epoch < 4; epoch++)
    {
      int seen[7] = { 0 };
      for (int i = 0; i < n; i++)
        {
          uint64_t index = (uint64_t) epoch * n + i;
          get_ok (ds, index, image, NULL);
          get_ok (again, index, other, NULL);
          g_assert_cmpmem (image, sizeof image, other, sizeof other);
          int which = 6; /* the non-uniform grey PNG */
          for (int f = 0; f < 6; f++)
            if (fabsf (image[0] - level[f]) < 0.01f && fabsf (image[59 * 3 + 2] - level[f]) < 0.01f)
              which = f;
          seen[which]++;
          order[epoch][i] = which;
        }
      for (int f = 0; f < n; f++)
        g_assert_cmpint (seen[f], ==, 1);
    }
  /* Reshuffled: not every epoch in the same order. */
  gboolean differs = FALSE;
  for (int epoch = 1; epoch < 4; epoch++)
    differs = differs || memcmp (order[0], order[epoch], sizeof order[0]) != 0;
  g_assert_true (differs);
  iodine_dataset_free (ds);
  iodine_dataset_free (again);

  /* A bad file is named. */
  char *text = data_path ("text.png");
  copy_file (text, dir, "broken.png");
  expect_open_error (spec, IODINE_ERROR_FORMAT, "broken.png");
  char *tiny = data_path ("one-pixel.png");
  copy_file (tiny, dir, "broken.png");
  expect_open_error (spec, IODINE_ERROR_FORMAT, "broken.png (smaller than 2×2)");

  remove_dir (dir);
  expect_open_error (spec, IODINE_ERROR_IO, dir);

  g_free (tiny);
  g_free (text);
  g_free (grey);
  g_free (notes);
  g_free (spec);
  g_free (dir);
}

/* --- example dumps (not a test) --- */

/* A fake result from ground truth: one slot per label, means = image. */
static IodineResult *
result_from_labels (const float *image, const uint8_t *labels, int h, int w, int slots)
{
  IodineResult *r = g_new0 (IodineResult, 1);
  size_t n = (size_t) h * w;
  r->slots = slots;
  r->height = h;
  r->width = w;
  r->image = g_memdup2 (image, n * 3 * sizeof (float));
  r->masks = g_new0 (float, slots * n);
  r->means = g_new0 (float, slots * n * 3);
  for (size_t i = 0; i < n; i++)
    {
      int k = MIN (labels[i], slots - 1);
      r->masks[k * n + i] = 1.0f;
      memcpy (r->means + (k * n + i) * 3, image + i * 3, 3 * sizeof (float));
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

static int
dump (const char *dir)
{
  const char *names[] = { "tetrominoes", "multi-dsprites", "multi-dsprites-binarized", "scenes" };
  g_mkdir_with_parents (dir, 0755);
  for (int d = 0; d < 4; d++)
    {
      IodineDataset *ds = open_ok (names[d], 0, 0, 0);
      int h = iodine_dataset_height (ds), w = iodine_dataset_width (ds);
      int k = iodine_dataset_max_objects (ds);
      IodineResult *rows[4];
      float *image = g_new (float, (size_t) h * w * 3);
      uint8_t *labels = g_new (uint8_t, (size_t) h * w);
      for (int i = 0; i < 12; i++)
        {
          get_ok (ds, (uint64_t) i, image, labels);
          IodineImage src = { w, h, image };
          IodineImage *z = iodine_image_resize (&src, w * 4, h * 4);
          char *path = g_strdup_printf ("%s/%s-%02d.png", dir, names[d], i);
          iodine_png_write (path, z->rgb, z->width, z->height, 3, NULL);
          g_free (path);
          iodine_image_free (z);
          if (i < 4)
            rows[i] = result_from_labels (image, labels, h, w, k);
        }
      char *path = g_strdup_printf ("%s/%s-examples.png", dir, names[d]);
      GError *error = NULL;
      if (!iodine_sheet_write (path, rows, 4, h < 50 ? 2 : 1, &error))
        g_error ("%s", error->message);
      g_print ("%s\n", path);
      g_free (path);
      for (int i = 0; i < 4; i++)
        free_fake (rows[i]);
      g_free (image);
      g_free (labels);
      iodine_dataset_free (ds);
    }
  return 0;
}

/* Kind of a tetrominoes scene from its pixels: 0 three colours, 1 a colour
 * twice but apart, 2 two pieces of one colour touching. */
static int
tetrominoes_scene_kind (const float *image, const uint8_t *labels)
{
  enum { S = 35 };
  int colour[4] = { -1, -1, -1, -1 };
  for (int i = 0; i < S * S; i++)
    if (labels[i])
      /* the brightest pixel's channels say the colour: bit c for channel c */
      colour[labels[i]] = MAX (colour[labels[i]], (image[i * 3] > 0.0f) | (image[i * 3 + 1] > 0.0f) << 1
                                                      | (image[i * 3 + 2] > 0.0f) << 2);
  gboolean same = colour[1] == colour[2] || colour[1] == colour[3] || colour[2] == colour[3];
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      {
        int p = labels[y * S + x];
        int right = x + 1 < S ? labels[y * S + x + 1] : 0, below = y + 1 < S ? labels[(y + 1) * S + x] : 0;
        if (p && ((right && right != p && colour[right] == colour[p])
                  || (below && below != p && colour[below] == colour[p])))
          return 2;
      }
  return same ? 1 : 0;
}

/* tetrominoes:touching=P,same-colour=P: the shares of hard scenes it draws,
 * the plain dataset's own shares, and its bad options. */
static void
test_tetrominoes_curriculum (void)
{
  struct { const char *spec; double kind[3]; } cases[] = {
    /* the dataset's own shares: 6·5·4/216 = 0.556 three colours */
    { "tetrominoes", { 0.556, 0.29, 0.15 } },
    { "tetrominoes:touching=1", { 0.0, 0.0, 1.0 } },
    { "tetrominoes:same-colour=1", { 0.0, 0.66, 0.34 } },
    /* 0.3 + 0.3·0.34 + 0.4·0.15 touching, 0.4·0.556 three colours */
    { "tetrominoes:touching=0.3,same-colour=0.3", { 0.22, 0.32, 0.46 } },
  };
  enum { N = 3000, S = 35 };
  float image[S * S * 3];
  uint8_t labels[S * S];
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      IodineDataset *ds = open_ok (cases[c].spec, 0, 0, 99);
      g_assert_cmpint (iodine_dataset_height (ds), ==, S);
      int count[3] = { 0 };
      for (int i = 0; i < N; i++)
        {
          get_ok (ds, (uint64_t) i, image, labels);
          count[tetrominoes_scene_kind (image, labels)]++;
        }
      for (int k = 0; k < 3; k++)
        if (fabs (count[k] / (double) N - cases[c].kind[k]) > 0.03)
          g_error ("%s: %.3f of the scenes are of kind %d, not %.3f", cases[c].spec,
                   count[k] / (double) N, k, cases[c].kind[k]);
      iodine_dataset_free (ds);
    }

  /* the options are the curriculum's alone: the plain scenes do not move */
  IodineDataset *plain = open_ok ("tetrominoes", 0, 0, 5);
  IodineDataset *none = open_ok ("tetrominoes:touching=0", 0, 0, 5);
  float other[S * S * 3];
  get_ok (plain, 17, image, NULL);
  get_ok (none, 17, other, NULL);
  g_assert_cmpmem (image, sizeof image, other, sizeof other);
  iodine_dataset_free (plain);
  iodine_dataset_free (none);

  char *base = iodine_dataset_base_spec ("tetrominoes:touching=0.3");
  g_assert_cmpstr (base, ==, "tetrominoes");
  g_free (base);
  base = iodine_dataset_base_spec ("images:/a:b");
  g_assert_cmpstr (base, ==, "images:/a:b");
  g_free (base);

  struct { const char *spec; const char *fragment; } bad[] = {
    { "tetrominoes:touching=1.5", "share from 0 to 1" },
    { "tetrominoes:touching=", "share from 0 to 1" },
    { "tetrominoes:touching=0.2x", "share from 0 to 1" },
    { "tetrominoes:touching=nan", "share from 0 to 1" },
    { "tetrominoes:apart=0.2", "unknown option “apart=0.2”" },
    { "tetrominoes:touching", "unknown option" },
    { "tetrominoes:", "unknown option" },
    { "tetrominoes:touching=0.6,same-colour=0.6", "add up to more than 1" },
    { "multi-dsprites:touching=0.2", "only tetrominoes takes options" },
    { "clevr:touching=0.2", "unknown dataset" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;
      g_assert_null (iodine_dataset_new (bad[i].spec, 0, 0, 0, &error));
      g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
      if (strstr (error->message, bad[i].fragment) == NULL)
        g_error ("\"%s\": message \"%s\" lacks \"%s\"", bad[i].spec, error->message,
                 bad[i].fragment);
      g_error_free (error);
    }
}

/* The Python port the GPU trainer draws from (tests/reference/datasets_ref.py)
 * against these generators: every sample of its golden file,
 * tests/data/golden/datasets.safetensors (entries DATASET.seedS.indexI.HxW,
 * 0x0 the native size), bit for bit, images and labels. A change to a
 * generator fails here until the port follows it and the file is written
 * again. */
static void
test_python_port (void)
{
  const char *src = g_getenv ("IODINE_SOURCE_DIR");
  char *path = g_build_filename (src ? src : ".", "tests", "data", "golden",
                                 "datasets.safetensors", NULL);
  GError *error = NULL;
  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  int checked = 0;
  for (guint t = 0; t < f->tensors->len; t++)
    {
      const IodineTensor *img = g_ptr_array_index (f->tensors, t);
      if (!g_str_has_suffix (img->name, ".image"))
        continue;
      /* the dataset spec may hold dots (tetrominoes:touching=0.4) */
      const char *at = strstr (img->name, ".seed");
      g_assert_nonnull (at);
      char *name = g_strndup (img->name, (gsize) (at - img->name));
      guint64 seed, index;
      int h, w;
      g_assert_cmpint (sscanf (at, ".seed%" G_GUINT64_FORMAT ".index%" G_GUINT64_FORMAT
                               ".%dx%d.image", &seed, &index, &h, &w), ==, 4);
      char *lname = g_strndup (img->name, strlen (img->name) - strlen (".image"));
      char *lfull = g_strconcat (lname, ".labels", NULL);
      const IodineTensor *lab = iodine_tensor_file_get (f, lfull);
      g_assert_nonnull (lab);
      IodineDataset *ds = open_ok (name, h, w, seed);
      int H = iodine_dataset_height (ds), W = iodine_dataset_width (ds);
      g_assert_cmpint (img->ndim, ==, 3);
      g_assert_cmpint (img->shape[0], ==, H);
      g_assert_cmpint (img->shape[1], ==, W);
      g_assert_cmpint (lab->numel, ==, (size_t) H * W);
      float *image = g_new (float, (size_t) H * W * 3);
      uint8_t *labels = g_new (uint8_t, (size_t) H * W);
      get_ok (ds, index, image, labels);
      int bad = 0;
      for (size_t i = 0; i < (size_t) H * W * 3; i++)
        bad += image[i] != img->data[i];
      for (size_t i = 0; i < (size_t) H * W; i++)
        bad += labels[i] != (uint8_t) lab->data[i];
      if (bad)
        g_error ("%s: %d values differ from the Python port", lname, bad);
      checked++;
      g_free (image);
      g_free (labels);
      g_free (lname);
      g_free (lfull);
      g_free (name);
      iodine_dataset_free (ds);
    }
  g_assert_cmpint (checked, >=, 17);
  iodine_tensor_file_free (f);
  g_free (path);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--dump") == 0)
    return dump (argv[2]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dataset/determinism", test_determinism);
  g_test_add_func ("/dataset/info", test_info);
  g_test_add_func ("/dataset/tetromino-shapes", test_tetromino_shapes);
  g_test_add_func ("/dataset/tetrominoes", test_tetrominoes);
  g_test_add_func ("/dataset/tetrominoes-curriculum", test_tetrominoes_curriculum);
  g_test_add_func ("/dataset/multi-dsprites", test_dsprites);
  g_test_add_func ("/dataset/multi-dsprites-binarized", test_dsprites_binarized);
  g_test_add_func ("/dataset/scenes", test_scenes);
  g_test_add_func ("/dataset/resized", test_resized);
  g_test_add_func ("/dataset/images", test_images);
  g_test_add_func ("/dataset/python-port", test_python_port);
  return g_test_run ();
}
