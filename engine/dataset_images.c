/* images:DIR — every PNG/JPEG file of a folder (sorted by name), resized and
 * centre-cropped to the dataset size, in an order reshuffled every epoch.
 *
 * Opening checks every file's header (cheap) so that a bad file is named up
 * front rather than in the middle of training; pixels are decoded on first
 * use and kept (resized, they are small). A mutex guards the cache so that
 * several threads may read samples at once. */
#include "dataset_private.h"
#include "image_io.h"
#include "iodine.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <string.h>

struct IodineImageFolder {
  char *dir;
  int height, width;
  uint64_t seed;
  int n;
  char **paths;        /* [n] */
  float **cache;       /* [n] of [H, W, 3], NULL until first use */
  GMutex lock;
  uint64_t perm_epoch; /* epoch of perm, or UINT64_MAX */
  uint32_t *perm;      /* [n] */
};

static gboolean
is_image_name (const char *name)
{
  if (name[0] == '.')
    return FALSE;
  char *lower = g_ascii_strdown (name, -1);
  gboolean ok = g_str_has_suffix (lower, ".png") || g_str_has_suffix (lower, ".jpg")
             || g_str_has_suffix (lower, ".jpeg");
  g_free (lower);
  return ok;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
iodine_image_folder_free (IodineImageFolder *f)
{
  if (f == NULL)
    return;
  for (int i = 0; i < f->n; i++)
    {
      g_free (f->paths[i]);
      g_free (f->cache[i]);
    }
  g_free (f->paths);
  g_free (f->cache);
  g_free (f->perm);
  g_free (f->dir);
  g_mutex_clear (&f->lock);
  g_free (f);
}

IodineImageFolder *
iodine_image_folder_open (const char *dir, int height, int width, uint64_t seed,
                          GError **error)
{
  if (height <= 0 || width <= 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "images:%s: a height and width are needed for a folder of images", dir);
      return NULL;
    }
  GError *local = NULL;
  GDir *d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO,
                   "images:%s: cannot open the folder: %s", dir, local->message);
      g_clear_error (&local);
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    if (is_image_name (name))
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  if (names->len == 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "images:%s: the folder has no PNG or JPEG files", dir);
      g_ptr_array_unref (names);
      return NULL;
    }
  g_ptr_array_sort (names, compare_names);

  /* Check every header; report all bad files at once (up to a few). */
  GString *bad = g_string_new (NULL);
  int n_bad = 0;
  for (guint i = 0; i < names->len; i++)
    {
      char *path = g_build_filename (dir, names->pdata[i], NULL);
      int w = 0, h = 0;
      const char *problem = NULL;
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        problem = "not a regular file";
      else if (gdk_pixbuf_get_file_info (path, &w, &h) == NULL)
        problem = "not a readable image";
      else if (w < 2 || h < 2)
        problem = "smaller than 2×2";
      if (problem)
        {
          if (n_bad < 5)
            g_string_append_printf (bad, "%s%s (%s)", n_bad ? ", " : "",
                                    (char *) names->pdata[i], problem);
          n_bad++;
        }
      g_free (path);
    }
  if (n_bad)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_FORMAT,
                   "images:%s: %d unusable file%s: %s%s", dir, n_bad, n_bad > 1 ? "s" : "",
                   bad->str, n_bad > 5 ? ", ..." : "");
      g_string_free (bad, TRUE);
      g_ptr_array_unref (names);
      return NULL;
    }
  g_string_free (bad, TRUE);

  IodineImageFolder *f = g_new0 (IodineImageFolder, 1);
  f->dir = g_strdup (dir);
  f->height = height;
  f->width = width;
  f->seed = seed;
  f->n = (int) names->len;
  f->paths = g_new0 (char *, f->n);
  f->cache = g_new0 (float *, f->n);
  for (int i = 0; i < f->n; i++)
    f->paths[i] = g_build_filename (dir, names->pdata[i], NULL);
  g_mutex_init (&f->lock);
  f->perm_epoch = UINT64_MAX;
  f->perm = g_new (uint32_t, f->n);
  g_ptr_array_unref (names);
  return f;
}

int
iodine_image_folder_count (const IodineImageFolder *f)
{
  return f->n;
}

/* The file order of an epoch: a Fisher–Yates shuffle from (seed, epoch). */
static void
epoch_order (const IodineImageFolder *f, uint64_t epoch, uint32_t *perm)
{
  IodineRng rng;
  /* A stream apart from the synthetic datasets' per-sample streams. */
  iodine_rng_seed2 (&rng, f->seed ^ 0x696d616765734449ULL, epoch);
  for (int i = 0; i < f->n; i++)
    perm[i] = (uint32_t) i;
  for (int i = f->n - 1; i > 0; i--)
    {
      uint32_t j = iodine_rng_below (&rng, (uint32_t) i + 1);
      uint32_t t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
}

gboolean
iodine_image_folder_get (IodineImageFolder *f, uint64_t index, float *image, GError **error)
{
  size_t size = (size_t) f->height * f->width * 3;
  uint64_t epoch = index / (uint64_t) f->n;
  int pos = (int) (index % (uint64_t) f->n);

  g_mutex_lock (&f->lock);
  if (f->perm_epoch != epoch)
    {
      epoch_order (f, epoch, f->perm);
      f->perm_epoch = epoch;
    }
  int file = (int) f->perm[pos];
  float *cached = f->cache[file];
  g_mutex_unlock (&f->lock);

  if (cached == NULL)
    {
      /* Decode outside the lock; two threads may decode the same file once
       * each, and the second result is dropped. */
      IodineImage *loaded = iodine_image_load (f->paths[file], error);
      if (loaded == NULL)
        return FALSE;
      IodineImage *sized = iodine_image_resize_crop (loaded, f->width, f->height);
      iodine_image_free (loaded);
      g_mutex_lock (&f->lock);
      if (f->cache[file] == NULL)
        {
          f->cache[file] = sized->rgb;
          sized->rgb = NULL;
        }
      cached = f->cache[file];
      g_mutex_unlock (&f->lock);
      iodine_image_free (sized);
    }
  memcpy (image, cached, size * sizeof (float));
  return TRUE;
}
