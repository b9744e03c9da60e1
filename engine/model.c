/* IodineModel: configuration + parameters + metadata; weights files (spec §5). */
#include "model_private.h"

#include "conv.h"
#include "tensorfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static IodineModel *
model_alloc (const IodineConfig *cfg)
{
  IodineModel *m = g_new0 (IodineModel, 1);
  m->cfg = *cfg;
  param_layout_init (&m->layout, &m->cfg);
  m->params = g_new0 (float, m->layout.total);
  m->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return m;
}

IodineModel *
iodine_model_new_random (const IodineConfig *cfg, uint64_t seed, GError **error)
{
  if (!iodine_config_validate (cfg, error))
    return NULL;
  IodineModel *m = model_alloc (cfg);
  params_init_reference (&m->layout, &m->cfg, m->params, seed);
  char buf[32];
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, (guint64) seed);
  iodine_model_set_metadata (m, "init_seed", buf);
  return m;
}

void
iodine_model_free (IodineModel *m)
{
  if (!m)
    return;
  g_free (m->params);
  g_hash_table_unref (m->metadata);
  g_free (m);
}

const IodineConfig *
iodine_model_config (const IodineModel *m)
{
  return &m->cfg;
}

gboolean
iodine_model_set_defaults (IodineModel *m, int height, int width, int slots, int iterations,
                           GError **error)
{
  IodineConfig c = m->cfg;
  c.height = height > 0 ? height : c.height;
  c.width = width > 0 ? width : c.width;
  c.slots = slots > 0 ? slots : c.slots;
  c.iterations = iterations > 0 ? iterations : c.iterations;
  if (!iodine_config_validate (&c, error))
    return FALSE;
  m->cfg = c;
  return TRUE;
}

const char *
iodine_model_metadata (const IodineModel *m, const char *key)
{
  return g_hash_table_lookup (m->metadata, key);
}

void
iodine_model_set_metadata (IodineModel *m, const char *key, const char *value)
{
  g_hash_table_replace (m->metadata, g_strdup (key), g_strdup (value));
}

static gboolean
has_prefix (gpointer key, gpointer value, gpointer prefix)
{
  (void) value;
  return g_str_has_prefix (key, prefix);
}

void
iodine_model_remove_metadata_prefix (IodineModel *m, const char *prefix)
{
  g_hash_table_foreach_remove (m->metadata, has_prefix, (gpointer) prefix);
}

size_t
iodine_model_n_params (const IodineModel *m)
{
  size_t n = 0;
  for (int i = 0; i < m->layout.n; i++)
    n += m->layout.info[i].numel;
  return n;
}

/* Copies one tensor between the file layout and the engine's. */
void
model_param_to_file (const ParamInfo *p, float *dst, const float *src)
{
  if (p->is_conv)
    conv_weight_to_torch (dst, src, (int) p->shape[0], (int) p->shape[1], (int) p->shape[2]);
  else
    memcpy (dst, src, sizeof (float) * p->numel);
}

void
model_param_from_file (const ParamInfo *p, float *dst, const float *src)
{
  if (p->is_conv)
    conv_weight_from_torch (dst, src, (int) p->shape[0], (int) p->shape[1], (int) p->shape[2]);
  else
    memcpy (dst, src, sizeof (float) * p->numel);
}

/* The spec §5 metadata of a configuration, plus the architecture numbers
 * that shapes alone do not tell apart. */
static void
config_to_metadata (const IodineConfig *c, GHashTable *md)
{
#define SET_INT(key, v) g_hash_table_replace (md, g_strdup (key), g_strdup_printf ("%d", (int) (v)))
  g_hash_table_replace (md, g_strdup ("format"), g_strdup ("iodine"));
  g_hash_table_replace (md, g_strdup ("format_version"), g_strdup ("1"));
  SET_INT ("latent_dim", c->latent);
  SET_INT ("slots", c->slots);
  SET_INT ("iterations", c->iterations);
  SET_INT ("height", c->height);
  SET_INT ("width", c->width);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_hash_table_replace (md, g_strdup ("pixel_scale"),
                        g_strdup (g_ascii_formatd (buf, sizeof buf, "%.9g", c->pixel_scale)));
  g_hash_table_replace (md, g_strdup ("coords"),
                        g_strdup (c->coords == IODINE_COORDS_COS3 ? "cos3" : "linear"));
  SET_INT ("dec_layers", c->dec_layers);
  SET_INT ("dec_channels", c->dec_channels);
  SET_INT ("dec_kernel", c->dec_kernel);
  SET_INT ("ref_layers", c->ref_layers);
  SET_INT ("ref_channels", c->ref_channels);
  SET_INT ("ref_kernel", c->ref_kernel);
  SET_INT ("lstm_hidden", c->lstm_hidden);
  GString *mlp = g_string_new (NULL);
  for (int i = 0; i < c->mlp_layers; i++)
    g_string_append_printf (mlp, "%s%d", i ? "," : "", c->mlp_sizes[i]);
  g_hash_table_replace (md, g_strdup ("mlp"), g_string_free (mlp, FALSE));
#undef SET_INT
}

GHashTable *
model_file_metadata (const IodineModel *m, GHashTable *extra)
{
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, m->metadata);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_replace (md, g_strdup (k), g_strdup (v));
  if (extra)
    {
      g_hash_table_iter_init (&it, extra);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_replace (md, g_strdup (k), g_strdup (v));
    }
  config_to_metadata (&m->cfg, md);
  return md;
}

gboolean
iodine_model_save (const IodineModel *m, const char *path, GHashTable *extra, GError **error)
{
  const ParamLayout *L = &m->layout;
  IodineTensorView *views = g_new0 (IodineTensorView, L->n);
  float *file_order = g_new (float, L->total);
  for (int i = 0; i < L->n; i++)
    {
      const ParamInfo *p = &L->info[i];
      views[i].name = p->name;
      views[i].ndim = p->ndim;
      memcpy (views[i].shape, p->shape, sizeof (int64_t) * p->ndim);
      model_param_to_file (p, file_order + p->offset, m->params + p->offset);
      views[i].data = file_order + p->offset;
    }
  GHashTable *md = model_file_metadata (m, extra);
  gboolean ok = iodine_tensor_file_write (path, views, L->n, md, error);
  g_hash_table_unref (md);
  g_free (file_order);
  g_free (views);
  return ok;
}

/* --- loading --- */

static gboolean
md_int (const IodineTensorFile *f, const char *key, int *out, gboolean required, GError **error)
{
  const char *v = g_hash_table_lookup (f->metadata, key);
  if (!v)
    {
      if (required)
        g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                     "%s: metadata “%s” is missing", f->path, key);
      return !required;
    }
  char *end;
  gint64 x = g_ascii_strtoll (v, &end, 10);
  if (*v == '\0' || *end != '\0' || x < 0 || x > 1000000)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: metadata “%s” is “%s”, not a valid count", f->path, key, v);
      return FALSE;
    }
  *out = (int) x;
  return TRUE;
}

static int
count_indexed (const IodineTensorFile *f, const char *fmt)
{
  int n = 0;
  for (;; n++)
    {
      char *name = g_strdup_printf (fmt, n);
      gboolean found = iodine_tensor_file_get (f, name) != NULL;
      g_free (name);
      if (!found)
        return n;
    }
}

static const IodineTensor *
need (const IodineTensorFile *f, const char *name, int ndim, GError **error)
{
  const IodineTensor *t = iodine_tensor_file_get (f, name);
  if (!t)
    g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH, "%s: missing tensor %s", f->path,
                 name);
  else if (t->ndim != ndim)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: tensor %s has %d dimensions, expected %d", f->path, name, t->ndim, ndim);
      t = NULL;
    }
  return t;
}

/* The architecture from metadata and shapes; the shapes are checked in
 * full afterwards against the layout this configuration implies. */
static gboolean
config_from_file (const IodineTensorFile *f, IodineConfig *c, GError **error)
{
  memset (c, 0, sizeof *c);
  const char *format = g_hash_table_lookup (f->metadata, "format");
  if (g_strcmp0 (format, "iodine") != 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: not an IODINE weights file (metadata format is %s%s%s)", f->path,
                   format ? "“" : "", format ? format : "missing", format ? "”" : "");
      return FALSE;
    }
  const char *version = g_hash_table_lookup (f->metadata, "format_version");
  if (g_strcmp0 (version, "1") != 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: weights format version %s is not supported (this build reads version 1)",
                   f->path, version ? version : "(missing)");
      return FALSE;
    }
  if (!md_int (f, "latent_dim", &c->latent, TRUE, error)
      || !md_int (f, "height", &c->height, TRUE, error)
      || !md_int (f, "width", &c->width, TRUE, error)
      || !md_int (f, "slots", &c->slots, TRUE, error)
      || !md_int (f, "iterations", &c->iterations, TRUE, error))
    return FALSE;
  const char *coords = g_hash_table_lookup (f->metadata, "coords");
  if (g_strcmp0 (coords, "cos3") == 0)
    c->coords = IODINE_COORDS_COS3;
  else if (g_strcmp0 (coords, "linear") == 0)
    c->coords = IODINE_COORDS_LINEAR;
  else
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: metadata “coords” is %s (expected cos3 or linear)", f->path,
                   coords ? coords : "missing");
      return FALSE;
    }
  const char *scale = g_hash_table_lookup (f->metadata, "pixel_scale");
  c->pixel_scale = 0.03f;
  if (scale)
    {
      char *end;
      double v = g_ascii_strtod (scale, &end);
      if (*end != '\0' || !(v > 0.0))
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                       "%s: metadata “pixel_scale” is “%s”, not a positive number", f->path,
                       scale);
          return FALSE;
        }
      c->pixel_scale = (float) v;
    }

  c->dec_layers = count_indexed (f, "decoder.conv.%d.weight") - 1;
  c->ref_layers = count_indexed (f, "refine.conv.%d.weight");
  c->mlp_layers = count_indexed (f, "refine.mlp.%d.weight");
  if (c->dec_layers < 1 || c->ref_layers < 1 || c->mlp_layers < 1
      || c->mlp_layers > IODINE_MAX_MLP || c->dec_layers > IODINE_MAX_CONVS
      || c->ref_layers > IODINE_MAX_CONVS)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: the file has %d decoder convs, %d refinement convs and %d MLP layers; "
                   "an IODINE model needs at least 2, 1 and 1 (at most %d, %d and %d)",
                   f->path, c->dec_layers + 1, c->ref_layers, c->mlp_layers,
                   IODINE_MAX_CONVS + 1, IODINE_MAX_CONVS, IODINE_MAX_MLP);
      return FALSE;
    }
  const IodineTensor *t;
  if (!(t = need (f, "decoder.conv.0.weight", 4, error)))
    return FALSE;
  c->dec_channels = (int) t->shape[0];
  c->dec_kernel = (int) t->shape[2];
  if (!(t = need (f, "refine.conv.0.weight", 4, error)))
    return FALSE;
  c->ref_channels = (int) t->shape[0];
  c->ref_kernel = (int) t->shape[2];
  for (int i = 0; i < c->mlp_layers; i++)
    {
      char *name = g_strdup_printf ("refine.mlp.%d.weight", i);
      t = need (f, name, 2, error);
      g_free (name);
      if (!t)
        return FALSE;
      c->mlp_sizes[i] = (int) t->shape[0];
    }
  if (iodine_tensor_file_get (f, "refine.lstm.weight_hh"))
    {
      if (!(t = need (f, "refine.lstm.weight_hh", 2, error)))
        return FALSE;
      c->lstm_hidden = (int) t->shape[1];
    }
  GError *local = NULL;
  if (!iodine_config_validate (c, &local))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH, "%s: %s", f->path, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

gboolean
model_load_params (const IodineTensorFile *f, const ParamLayout *L, float *params,
                   const char *prefix, GError **error)
{
  for (int i = 0; i < L->n; i++)
    {
      const ParamInfo *p = &L->info[i];
      char *name = g_strconcat (prefix, p->name, NULL);
      const IodineTensor *t = iodine_tensor_file_expect (f, name, p->ndim, p->shape, error);
      if (!t)
        {
          g_free (name);
          return FALSE;
        }
      for (size_t j = 0; j < p->numel; j++)
        if (!isfinite (t->data[j]))
          {
            g_set_error (error, IODINE_ERROR, IODINE_ERROR_NONFINITE,
                         "%s: tensor %s holds a non-finite value (%g at index %zu)", f->path,
                         name, (double) t->data[j], j);
            g_free (name);
            return FALSE;
          }
      g_free (name);
      model_param_from_file (p, params + p->offset, t->data);
    }
  return TRUE;
}

IodineModel *
model_from_tensor_file (const IodineTensorFile *f, gboolean allow_extra, GError **error)
{
  IodineConfig cfg;
  if (!config_from_file (f, &cfg, error))
    return NULL;
  IodineModel *m = model_alloc (&cfg);
  if (!model_load_params (f, &m->layout, m->params, "", error))
    {
      iodine_model_free (m);
      return NULL;
    }
  /* anything else must be a checkpoint's optimizer state or weight average */
  for (guint i = 0; i < f->tensors->len; i++)
    {
      const IodineTensor *t = g_ptr_array_index (f->tensors, i);
      if (!allow_extra && param_layout_find (&m->layout, t->name) < 0
          && !g_str_has_prefix (t->name, "adam.")
          && !g_str_has_prefix (t->name, "average.")
          && !g_str_has_prefix (t->name, "train."))
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                       "%s: unexpected tensor %s (not part of this architecture)", f->path,
                       t->name);
          iodine_model_free (m);
          return NULL;
        }
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, f->metadata);
  while (g_hash_table_iter_next (&it, &k, &v))
    iodine_model_set_metadata (m, k, v);
  return m;
}

IodineModel *
iodine_model_load (const char *path, GError **error)
{
  IodineTensorFile *f = iodine_tensor_file_read (path, error);
  if (!f)
    return NULL;
  IodineModel *m = model_from_tensor_file (f, FALSE, error);
  iodine_tensor_file_free (f);
  return m;
}
