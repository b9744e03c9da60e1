/* Dataset front end: parses the spec, draws sample i from its own random
 * stream, and resizes synthetic scenes when another size is asked for. */
#include "dataset_private.h"
#include "image_io.h"
#include "iodine.h"

#include <math.h>
#include <string.h>

typedef enum { KIND_TETROMINOES, KIND_DSPRITES, KIND_DSPRITES_BINARY, KIND_SCENES, KIND_IMAGES } Kind;

struct IodineDataset {
  Kind kind;
  int height, width;          /* output size */
  int native_h, native_w;     /* rendering size of synthetic scenes */
  uint64_t seed;
  IodineImageFolder *folder;  /* images:DIR only */
  /* tetrominoes:touching=P,same-colour=P: the shares of scenes drawn among
   * those with two touching pieces of one colour, and among those with two
   * pieces of one colour; the rest as the dataset draws them */
  double touching_share, same_colour_share;
};

static gboolean
parse_kind (const char *spec, Kind *kind, int *h, int *w)
{
  /* the options after ':' do not change the kind */
  if (strchr (spec, ':'))
    {
      char *base = iodine_dataset_base_spec (spec);
      gboolean ok = strchr (base, ':') == NULL && parse_kind (base, kind, h, w);
      g_free (base);
      return ok;
    }
  if (g_strcmp0 (spec, "tetrominoes") == 0)
    {
      *kind = KIND_TETROMINOES;
      *h = *w = IODINE_TETROMINOES_SIZE;
      return TRUE;
    }
  if (g_strcmp0 (spec, "multi-dsprites") == 0)
    {
      *kind = KIND_DSPRITES;
      *h = *w = IODINE_DSPRITES_SIZE;
      return TRUE;
    }
  if (g_strcmp0 (spec, "scenes") == 0)
    {
      *kind = KIND_SCENES;
      *h = *w = IODINE_SCENES_SIZE;
      return TRUE;
    }
  if (g_strcmp0 (spec, "multi-dsprites-binarized") == 0)
    {
      *kind = KIND_DSPRITES_BINARY;
      *h = *w = IODINE_DSPRITES_SIZE;
      return TRUE;
    }
  return FALSE;
}

gboolean
iodine_dataset_native_size (const char *spec, int *height, int *width)
{
  Kind kind;
  int h, w;
  if (spec == NULL || !parse_kind (spec, &kind, &h, &w))
    return FALSE;
  if (height)
    *height = h;
  if (width)
    *width = w;
  return TRUE;
}

gboolean
iodine_labels_all_visible (const uint8_t *labels, int pixels, int n, int min_visible)
{
  int count[256] = { 0 };
  for (int i = 0; i < pixels; i++)
    count[labels[i]]++;
  for (int s = 1; s <= n; s++)
    if (count[s] < min_visible)
      return FALSE;
  return TRUE;
}

char *
iodine_dataset_base_spec (const char *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);
  const char *colon = strchr (spec, ':');
  if (colon == NULL || g_str_has_prefix (spec, "images:"))
    return g_strdup (spec);
  return g_strndup (spec, (gsize) (colon - spec));
}

/* "touching=P,same-colour=P" after "tetrominoes:" */
static gboolean
parse_options (IodineDataset *ds, const char *spec, GError **error)
{
  const char *colon = strchr (spec, ':');
  if (colon == NULL)
    return TRUE;
  if (ds->kind != KIND_TETROMINOES)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "dataset %s: only tetrominoes takes options after ':'", spec);
      return FALSE;
    }
  if (colon[1] == '\0')
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "dataset %s: unknown option “” after ':' (touching=P or same-colour=P)", spec);
      return FALSE;
    }
  gboolean ok = TRUE;
  char **items = g_strsplit (colon + 1, ",", -1);
  for (int i = 0; ok && items[i]; i++)
    {
      char *eq = strchr (items[i], '=');
      char *key = eq ? g_strndup (items[i], (gsize) (eq - items[i])) : NULL;
      char *end = NULL;
      double v = eq ? g_ascii_strtod (eq + 1, &end) : NAN;
      double *share = g_strcmp0 (key, "touching") == 0      ? &ds->touching_share
                      : g_strcmp0 (key, "same-colour") == 0 ? &ds->same_colour_share
                                                            : NULL;
      g_free (key);
      if (share == NULL)
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                       "dataset %s: unknown option “%s” (touching=P or same-colour=P)", spec,
                       items[i]);
          ok = FALSE;
        }
      else if (end == eq + 1 || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                       "dataset %s: “%s” needs a share from 0 to 1", spec, items[i]);
          ok = FALSE;
        }
      else
        *share = v;
    }
  g_strfreev (items);
  if (ok && ds->touching_share + ds->same_colour_share > 1.0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "dataset %s: the shares add up to more than 1", spec);
      ok = FALSE;
    }
  return ok;
}

/* Sizes beyond this are surely a mistake (a 4096×4096 float image is 200 MB). */
#define MAX_SIDE 4096

IodineDataset *
iodine_dataset_new (const char *spec, int height, int width, uint64_t seed, GError **error)
{
  if (spec == NULL || spec[0] == '\0')
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID, "dataset: no dataset name given");
      return NULL;
    }
  if (height < 0 || width < 0 || height > MAX_SIDE || width > MAX_SIDE
      || (height == 0) != (width == 0) || height == 1 || width == 1)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "dataset %s: size %d×%d is invalid (both 0 for the native size, "
                   "or both in 2..%d)", spec, height, width, MAX_SIDE);
      return NULL;
    }

  IodineDataset *ds = g_new0 (IodineDataset, 1);
  ds->seed = seed;
  if (g_str_has_prefix (spec, "images:"))
    {
      const char *dir = spec + strlen ("images:");
      if (dir[0] == '\0')
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                       "dataset %s: no folder given after images:", spec);
          g_free (ds);
          return NULL;
        }
      ds->kind = KIND_IMAGES;
      ds->folder = iodine_image_folder_open (dir, height, width, seed, error);
      if (ds->folder == NULL)
        {
          g_free (ds);
          return NULL;
        }
      ds->height = ds->native_h = height;
      ds->width = ds->native_w = width;
      return ds;
    }
  if (!parse_kind (spec, &ds->kind, &ds->native_h, &ds->native_w))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "dataset %s: unknown dataset (tetrominoes, multi-dsprites, "
                   "multi-dsprites-binarized, scenes or images:DIR)", spec);
      g_free (ds);
      return NULL;
    }
  if (!parse_options (ds, spec, error))
    {
      g_free (ds);
      return NULL;
    }
  ds->height = height ? height : ds->native_h;
  ds->width = width ? width : ds->native_w;
  return ds;
}

void
iodine_dataset_free (IodineDataset *ds)
{
  if (ds == NULL)
    return;
  iodine_image_folder_free (ds->folder);
  g_free (ds);
}

int
iodine_dataset_height (const IodineDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->height;
}

int
iodine_dataset_width (const IodineDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->width;
}

gboolean
iodine_dataset_has_labels (const IodineDataset *ds)
{
  g_return_val_if_fail (ds != NULL, FALSE);
  return ds->kind != KIND_IMAGES;
}

int
iodine_dataset_max_objects (const IodineDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  switch (ds->kind)
    {
    case KIND_TETROMINOES:
      return IODINE_TETROMINOES_PIECES + 1;
    case KIND_DSPRITES:
      return IODINE_DSPRITES_MAX + 1;
    case KIND_DSPRITES_BINARY:
      return IODINE_DSPRITES_BINARY_MAX + 1;
    case KIND_SCENES:
      return IODINE_SCENES_MAX + 1;
    default:
      return 0; /* unknown: no ground truth */
    }
}

int
iodine_dataset_count (const IodineDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->folder ? iodine_image_folder_count (ds->folder) : 0;
}

gboolean
iodine_dataset_get (IodineDataset *ds, uint64_t index, float *image, uint8_t *labels,
                    GError **error)
{
  if (ds == NULL || image == NULL)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "dataset: no %s to read sample %" G_GUINT64_FORMAT " into",
                   ds == NULL ? "dataset" : "image buffer", index);
      return FALSE;
    }
  if (ds->kind == KIND_IMAGES)
    return iodine_image_folder_get (ds->folder, index, image, error);

  IodineRng rng;
  iodine_rng_seed2 (&rng, ds->seed, index);
  int nh = ds->native_h, nw = ds->native_w;
  gboolean native = nh == ds->height && nw == ds->width;
  float *img = native ? image : g_new (float, (size_t) nh * nw * 3);
  uint8_t *lab = native && labels ? labels : g_new (uint8_t, (size_t) nh * nw);

  if (ds->kind == KIND_TETROMINOES)
    {
      IodineTetrominoesScene want = IODINE_TETROMINOES_ANY;
      /* the plain dataset draws nothing here, so that its scenes stay as
       * they always were */
      if (ds->touching_share > 0.0 || ds->same_colour_share > 0.0)
        {
          double u = iodine_rng_uniform (&rng);
          if (u < ds->touching_share)
            want = IODINE_TETROMINOES_TOUCHING;
          else if (u < ds->touching_share + ds->same_colour_share)
            want = IODINE_TETROMINOES_SAME_COLOUR;
        }
      iodine_tetrominoes_render (&rng, want, img, lab);
    }
  else if (ds->kind == KIND_SCENES)
    iodine_scenes_render (&rng, img, lab);
  else
    iodine_dsprites_render (&rng, ds->kind == KIND_DSPRITES_BINARY, img, lab);

  if (!native)
    {
      IodineImage src = { nw, nh, img };
      IodineImage *sized = iodine_image_resize (&src, ds->width, ds->height);
      memcpy (image, sized->rgb, (size_t) ds->height * ds->width * 3 * sizeof (float));
      iodine_image_free (sized);
      if (labels)
        /* Nearest neighbour on pixel centres: labels must stay labels. */
        for (int y = 0; y < ds->height; y++)
          {
            int sy = MIN (nh - 1, (int) ((y + 0.5) * nh / ds->height));
            for (int x = 0; x < ds->width; x++)
              {
                int sx = MIN (nw - 1, (int) ((x + 0.5) * nw / ds->width));
                labels[y * ds->width + x] = lab[sy * nw + sx];
              }
          }
      g_free (img);
    }
  if (lab != labels)
    g_free (lab);
  return TRUE;
}
