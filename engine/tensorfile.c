/* safetensors reader and writer (spec §5), see tensorfile.h.
 *
 * The reader trusts nothing: every length, offset and shape in the header is
 * checked before it is used, and tensor data is copied into owned float
 * buffers (a file from another writer may leave the data area at any byte
 * offset, so the floats inside it need not be 4-byte aligned).
 *
 * The header is parsed with json-glib, which is lenient in a few ways and
 * fragile in one. It recurses once per nesting level (a header of 100 000
 * '[' overflows the stack), keeps the last of two equal keys silently, and
 * accepts some non-JSON (single-quoted strings, comments, hex numbers). So a
 * byte scan runs first (scan_header: nesting depth, characters outside
 * strings, \u0000 escapes), and duplicate keys are counted through the
 * parser's "object-member" signal.
 */
#include "tensorfile.h"
#include "iodine.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file stores little-endian IEEE floats and we copy them as they are. */
G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
G_STATIC_ASSERT (sizeof (float) == 4);

#define HEADER_MAX ((guint64) 100 << 20)   /* 100 MB, as in safetensors */
#define HEADER_MAX_DEPTH 16                /* a valid header nests 3 deep */
#define METADATA_KEY "__metadata__"

/* ------------------------------------------------------------------------ */
/* errors: "<file>: <problem>", where the problem names the tensor */

static void set_error (GError **error, int code, const char *label, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

static void
set_error (GError **error, int code, const char *label, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, IODINE_ERROR, code, "%s: %s", label, msg);
  g_free (msg);
}

/* "[32, 20, 5, 5]" */
static char *
format_shape (const int64_t *shape, int ndim)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", (gint64) shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* numel of a shape whose dims are all ≥ 0; FALSE if 4 × numel overflows. */
static gboolean
shape_numel (const int64_t *shape, int ndim, size_t *numel)
{
  size_t n = 1;
  for (int i = 0; i < ndim; i++)
    if (shape[i] == 0)
      {
        *numel = 0;
        return TRUE;
      }
  for (int i = 0; i < ndim; i++)
    {
      if ((guint64) shape[i] > (G_MAXSIZE / sizeof (float)) / n)
        return FALSE;
      n *= (size_t) shape[i];
    }
  *numel = n;
  return TRUE;
}

static void
tensor_free (gpointer p)
{
  IodineTensor *t = p;
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

void
iodine_tensor_file_free (IodineTensorFile *file)
{
  if (!file)
    return;
  g_free (file->path);
  if (file->index)
    g_hash_table_unref (file->index);
  if (file->tensors)
    g_ptr_array_unref (file->tensors);
  if (file->metadata)
    g_hash_table_unref (file->metadata);
  g_free (file);
}

/* ------------------------------------------------------------------------ */
/* header checks done on the raw bytes, before json-glib sees them */

static gboolean
scan_header (const char *h, size_t n, const char *label, GError **error)
{
  int depth = 0;
  gboolean in_string = FALSE;
  for (size_t i = 0; i < n; i++)
    {
      char c = h[i];
      if (in_string)
        {
          if (c == '"')
            in_string = FALSE;
          else if (c == '\\' && i + 1 < n)
            {
              /* \u0000 would cut a name short once it is a C string, making
               * two different names equal. */
              if (h[i + 1] == 'u' && i + 5 < n && memcmp (h + i + 2, "0000", 4) == 0)
                {
                  set_error (error, IODINE_ERROR_FORMAT, label,
                             "header contains a \\u0000 escape at byte %zu", i);
                  return FALSE;
                }
              i++;   /* skip the escaped character, which may be '"' */
            }
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '{': case '[':
          if (++depth > HEADER_MAX_DEPTH)
            {
              set_error (error, IODINE_ERROR_FORMAT, label,
                         "header nests deeper than %d levels", HEADER_MAX_DEPTH);
              return FALSE;
            }
          break;
        case '}': case ']':
          depth--;
          break;
        case ' ': case '\t': case '\n': case '\r': case ',': case ':':
        case '-': case '+': case '.':
          break;
        default:
          /* Digits and the letters of true, false, null and exponents only:
           * a quote or comment json-glib accepts could hide brackets from
           * this scan, and "0x10" is not JSON. */
          if ((c >= '0' && c <= '9') || (c != '\0' && strchr ("truefalsnE", c) != NULL))
            break;
          set_error (error, IODINE_ERROR_FORMAT, label,
                     "header is not valid JSON: unexpected character '%c' at byte %zu",
                     g_ascii_isprint (c) ? c : '?', i);
          return FALSE;
        }
    }
  return TRUE;
}

/* json-glib emits "object-member" after it has stored a member: if the object
 * did not grow, the name was already there. The table holds a reference to
 * every object it counts: a member replaced by a repeated key frees its
 * object, and a later object at the same address would inherit its count
 * (or be named as the owner of its repeated key). */
typedef struct {
  GHashTable *count;         /* JsonObject* (a reference) → members seen */
  JsonObject *dup_object;    /* the first object with a repeated key */
  char *dup_name;
} DupCheck;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer data)
{
  (void) parser;
  DupCheck *d = data;
  guint seen = GPOINTER_TO_UINT (g_hash_table_lookup (d->count, object)) + 1;
  /* When the key is there already, the table keeps it and unrefs this one. */
  g_hash_table_insert (d->count, json_object_ref (object), GUINT_TO_POINTER (seen));
  if (!d->dup_name && json_object_get_size (object) < seen)
    {
      d->dup_object = object;
      d->dup_name = g_strdup (name);
    }
}

/* Names the tensor (or __metadata__) whose object holds the repeated key. */
static void
report_duplicate (JsonObject *top, JsonObject *where, const char *key,
                  const char *label, GError **error)
{
  if (where == top)
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s appears twice in the header", key);
      return;
    }
  GList *names = json_object_get_members (top);
  const char *owner = NULL;
  for (GList *l = names; l && !owner; l = l->next)
    {
      JsonNode *node = json_object_get_member (top, l->data);
      if (JSON_NODE_HOLDS_OBJECT (node) && json_node_get_object (node) == where)
        owner = l->data;
    }
  if (owner && strcmp (owner, METADATA_KEY) == 0)
    set_error (error, IODINE_ERROR_FORMAT, label, METADATA_KEY ": key %s appears twice", key);
  else if (owner)
    set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s: key %s appears twice", owner, key);
  else
    set_error (error, IODINE_ERROR_FORMAT, label, "key %s appears twice in the header", key);
  g_list_free (names);
}

/* ------------------------------------------------------------------------ */
/* one header entry */

typedef struct {
  const char *name;          /* owned by the JSON tree */
  int ndim;
  int64_t shape[IODINE_TENSOR_MAX_DIMS];
  size_t numel;
  guint64 begin, end;
} Entry;

/* A JSON integer ≥ 0. json-glib turns integers beyond int64 into negative
 * values (-1 or INT64_MIN), so they fail here too. */
static gboolean
get_uint (JsonNode *node, guint64 *value)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *value = (guint64) v;
  return TRUE;
}

static gboolean
parse_entry (const char *name, JsonNode *node, guint64 data_size, Entry *e,
             const char *label, GError **error)
{
  memset (e, 0, sizeof *e);
  e->name = name;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s: entry is not a JSON object", name);
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (node);

  JsonNode *dtype = json_object_get_member (obj, "dtype");
  if (!dtype || !JSON_NODE_HOLDS_VALUE (dtype) || json_node_get_value_type (dtype) != G_TYPE_STRING)
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s has no dtype string", name);
      return FALSE;
    }
  if (strcmp (json_node_get_string (dtype), "F32") != 0)
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s has dtype %s; only F32 is supported",
                 name, json_node_get_string (dtype));
      return FALSE;
    }

  JsonNode *shape = json_object_get_member (obj, "shape");
  if (!shape || !JSON_NODE_HOLDS_ARRAY (shape))
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s has no shape array", name);
      return FALSE;
    }
  JsonArray *dims = json_node_get_array (shape);
  guint ndim = json_array_get_length (dims);
  if (ndim > IODINE_TENSOR_MAX_DIMS)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "tensor %s has %u dimensions; at most %d are supported",
                 name, ndim, IODINE_TENSOR_MAX_DIMS);
      return FALSE;
    }
  e->ndim = (int) ndim;
  for (guint i = 0; i < ndim; i++)
    {
      guint64 v;
      if (!get_uint (json_array_get_element (dims, i), &v))
        {
          set_error (error, IODINE_ERROR_FORMAT, label,
                     "tensor %s: shape element %u is not a non-negative integer", name, i);
          return FALSE;
        }
      e->shape[i] = (int64_t) v;
    }
  if (!shape_numel (e->shape, e->ndim, &e->numel))
    {
      char *s = format_shape (e->shape, e->ndim);
      set_error (error, IODINE_ERROR_FORMAT, label, "tensor %s: shape %s is too large", name, s);
      g_free (s);
      return FALSE;
    }

  JsonNode *offsets = json_object_get_member (obj, "data_offsets");
  JsonArray *off = offsets && JSON_NODE_HOLDS_ARRAY (offsets) ? json_node_get_array (offsets) : NULL;
  if (!off || json_array_get_length (off) != 2
      || !get_uint (json_array_get_element (off, 0), &e->begin)
      || !get_uint (json_array_get_element (off, 1), &e->end))
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "tensor %s: data_offsets is not an array of two non-negative integers", name);
      return FALSE;
    }
  if (e->begin > e->end)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] are reversed",
                 name, e->begin, e->end);
      return FALSE;
    }
  if (e->end > data_size)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] run past "
                 "the end of the data area (%" G_GUINT64_FORMAT " bytes)",
                 name, e->begin, e->end, data_size);
      return FALSE;
    }
  if (e->end - e->begin != (guint64) e->numel * sizeof (float))
    {
      char *s = format_shape (e->shape, e->ndim);
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] hold %"
                 G_GUINT64_FORMAT " bytes but shape %s needs %zu",
                 name, e->begin, e->end, e->end - e->begin, s, e->numel * sizeof (float));
      g_free (s);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_metadata (JsonNode *node, GHashTable *metadata, const char *label, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_error (error, IODINE_ERROR_FORMAT, label, METADATA_KEY " is not a JSON object");
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (node);
  GList *keys = json_object_get_members (obj);
  gboolean ok = TRUE;
  for (GList *l = keys; l && ok; l = l->next)
    {
      JsonNode *v = json_object_get_member (obj, l->data);
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        {
          set_error (error, IODINE_ERROR_FORMAT, label,
                     METADATA_KEY ": the value of %s is not a string", (const char *) l->data);
          ok = FALSE;
        }
      else
        g_hash_table_insert (metadata, g_strdup (l->data), g_strdup (json_node_get_string (v)));
    }
  g_list_free (keys);
  return ok;
}

static int
compare_entries (const void *pa, const void *pb)
{
  const Entry *a = *(const Entry *const *) pa, *b = *(const Entry *const *) pb;
  if (a->begin != b->begin)
    return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  return 0;
}

/* safetensors rule: sorted by offset, the ranges tile [0, data_size] with no
 * overlap and no gap. */
static gboolean
check_tiling (Entry *entries, size_t n, guint64 data_size, const char *label, GError **error)
{
  Entry **sorted = g_new (Entry *, n ? n : 1);
  for (size_t i = 0; i < n; i++)
    sorted[i] = &entries[i];
  qsort (sorted, n, sizeof *sorted, compare_entries);
  guint64 covered = 0;
  const Entry *prev = NULL;
  gboolean ok = TRUE;
  for (size_t i = 0; i < n && ok; i++)
    {
      const Entry *e = sorted[i];
      if (e->begin < covered)
        {
          set_error (error, IODINE_ERROR_FORMAT, label,
                     "tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] overlap "
                     "tensor %s [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "]",
                     e->name, e->begin, e->end, prev->name, prev->begin, prev->end);
          ok = FALSE;
        }
      else if (e->begin > covered)
        {
          set_error (error, IODINE_ERROR_FORMAT, label,
                     "tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] leave a "
                     "gap: bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " belong to no tensor",
                     e->name, e->begin, e->end, covered, e->begin);
          ok = FALSE;
        }
      covered = e->end;
      prev = e;
    }
  if (ok && covered != data_size)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "%" G_GUINT64_FORMAT " bytes of trailing data after the last tensor "
                 "(the data area is %" G_GUINT64_FORMAT " bytes, tensors cover %" G_GUINT64_FORMAT ")",
                 data_size - covered, data_size, covered);
      ok = FALSE;
    }
  g_free (sorted);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* reader */

IodineTensorFile *
iodine_tensor_file_parse (const guint8 *bytes, size_t size, const char *label, GError **error)
{
  if (!label)
    label = "<memory>";
  if (size < 8)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "file is %zu bytes, too short for a safetensors header length (8 bytes)", size);
      return NULL;
    }
  guint64 n;
  memcpy (&n, bytes, 8);
  n = GUINT64_FROM_LE (n);
  if (n < 2)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "not a safetensors file: header length %" G_GUINT64_FORMAT
                 " is too small for a JSON object", n);
      return NULL;
    }
  if (n > HEADER_MAX)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "not a safetensors file: header length %" G_GUINT64_FORMAT
                 " is above the limit of 100 MB", n);
      return NULL;
    }
  if (n > size - 8)
    {
      set_error (error, IODINE_ERROR_FORMAT, label,
                 "header length %" G_GUINT64_FORMAT " runs past the end of the file (%zu bytes)",
                 n, size);
      return NULL;
    }
  const char *header = (const char *) bytes + 8;
  const guint8 *data = bytes + 8 + n;
  guint64 data_size = size - 8 - n;

  const char *nul = memchr (header, 0, n);
  if (nul)
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "header contains a NUL byte at byte %zu",
                 (size_t) (nul - header));
      return NULL;
    }
  if (!g_utf8_validate (header, (gssize) n, NULL))
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "header is not valid UTF-8 text");
      return NULL;
    }
  if (!scan_header (header, n, label, error))
    return NULL;

  JsonParser *parser = json_parser_new ();
  DupCheck dup = { g_hash_table_new_full (NULL, NULL, (GDestroyNotify) json_object_unref, NULL),
                   NULL, NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dup);
  GError *jerr = NULL;
  IodineTensorFile *file = NULL;
  Entry *entries = NULL;
  gboolean ok = json_parser_load_from_data (parser, header, (gssize) n, &jerr);
  if (!ok)
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "header is not valid JSON: %s", jerr->message);
      g_error_free (jerr);
      goto out;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_error (error, IODINE_ERROR_FORMAT, label, "header is not a JSON object");
      goto out;
    }
  JsonObject *top = json_node_get_object (root);
  if (dup.dup_name)
    {
      report_duplicate (top, dup.dup_object, dup.dup_name, label, error);
      goto out;
    }

  file = g_new0 (IodineTensorFile, 1);
  file->path = g_strdup (label);
  file->tensors = g_ptr_array_new_with_free_func (tensor_free);
  file->index = g_hash_table_new (g_str_hash, g_str_equal);
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  GList *names = json_object_get_members (top);   /* in header order */
  size_t n_entries = 0;
  entries = g_new0 (Entry, g_list_length (names) + 1);
  ok = TRUE;
  for (GList *l = names; l && ok; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (top, name);
      if (strcmp (name, METADATA_KEY) == 0)
        ok = parse_metadata (node, file->metadata, label, error);
      else
        ok = parse_entry (name, node, data_size, &entries[n_entries++], label, error);
    }
  g_list_free (names);
  if (ok)
    ok = check_tiling (entries, n_entries, data_size, label, error);
  for (size_t i = 0; i < n_entries && ok; i++)
    {
      const Entry *e = &entries[i];
      IodineTensor *t = g_new0 (IodineTensor, 1);
      t->name = g_strdup (e->name);
      t->ndim = e->ndim;
      memcpy (t->shape, e->shape, sizeof t->shape);
      t->numel = e->numel;
      /* Never NULL, so that memcpy (dst, t->data, 0) stays defined. */
      t->data = g_malloc (MAX (e->numel, 1) * sizeof (float));
      if (e->numel)
        memcpy (t->data, data + e->begin, e->numel * sizeof (float));
      g_ptr_array_add (file->tensors, t);
      g_hash_table_insert (file->index, t->name, t);
    }
  if (!ok)
    {
      iodine_tensor_file_free (file);
      file = NULL;
    }

out:
  g_free (entries);
  g_hash_table_unref (dup.count);   /* dup.dup_object stays valid until here */
  g_free (dup.dup_name);
  g_object_unref (parser);
  return file;
}

/* read() rather than a mapping: another program truncating the file while
 * it is mapped would kill us with SIGBUS. Weight files are tens of MB. */
IodineTensorFile *
iodine_tensor_file_read (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      set_error (error, IODINE_ERROR_IO, path, "cannot open: %s", g_strerror (e));
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int e = errno;
      set_error (error, IODINE_ERROR_IO, path, "cannot stat: %s", g_strerror (e));
      close (fd);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      set_error (error, IODINE_ERROR_IO, path, "not a regular file");
      close (fd);
      return NULL;
    }
  size_t size = (size_t) st.st_size;
  guint8 *buf = g_try_malloc (MAX (size, 1));
  if (!buf)
    {
      set_error (error, IODINE_ERROR_IO, path, "cannot allocate %zu bytes to read it", size);
      close (fd);
      return NULL;
    }
  size_t got = 0;
  while (got < size)
    {
      ssize_t r = read (fd, buf + got, size - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          set_error (error, IODINE_ERROR_IO, path, "cannot read: %s", g_strerror (e));
          g_free (buf);
          close (fd);
          return NULL;
        }
      if (r == 0)
        break;   /* shrank under us: parse what is there */
      got += (size_t) r;
    }
  close (fd);
  IodineTensorFile *file = iodine_tensor_file_parse (buf, got, path, error);
  g_free (buf);
  return file;
}

const IodineTensor *
iodine_tensor_file_get (const IodineTensorFile *file, const char *name)
{
  return g_hash_table_lookup (file->index, name);
}

const IodineTensor *
iodine_tensor_file_expect (const IodineTensorFile *file, const char *name,
                           int ndim, const int64_t *shape, GError **error)
{
  const IodineTensor *t = iodine_tensor_file_get (file, name);
  if (!t)
    {
      set_error (error, IODINE_ERROR_MISMATCH, file->path, "missing tensor %s", name);
      return NULL;
    }
  gboolean same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = t->shape[i] == shape[i];
  if (!same)
    {
      char *have = format_shape (t->shape, t->ndim);
      char *want = format_shape (shape, ndim);
      set_error (error, IODINE_ERROR_MISMATCH, file->path,
                 "tensor %s has shape %s, expected %s", name, have, want);
      g_free (have);
      g_free (want);
      return NULL;
    }
  return t;
}

/* ------------------------------------------------------------------------ */
/* writer */

/* 0 or an errno. */
static int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return errno;
      if (w == 0)
        return EIO;
      p += w;
      len -= (size_t) w;
    }
  return 0;
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
check_views (const IodineTensorView *tensors, size_t n, GHashTable *metadata,
             const char *path, GError **error)
{
  if (n > 0 && !tensors)
    {
      set_error (error, IODINE_ERROR_INVALID, path, "%zu tensors given without an array", n);
      return FALSE;
    }
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;
  for (size_t i = 0; i < n && ok; i++)
    {
      const IodineTensorView *v = &tensors[i];
      size_t numel = 0;
      ok = FALSE;
      if (!v->name || !g_utf8_validate (v->name, -1, NULL) || strcmp (v->name, METADATA_KEY) == 0)
        set_error (error, IODINE_ERROR_INVALID, path, "tensor %zu has no valid name", i);
      else if (g_hash_table_contains (seen, v->name))
        set_error (error, IODINE_ERROR_INVALID, path, "tensor %s is given twice", v->name);
      else if (v->ndim < 0 || v->ndim > IODINE_TENSOR_MAX_DIMS)
        set_error (error, IODINE_ERROR_INVALID, path, "tensor %s has %d dimensions", v->name, v->ndim);
      else
        {
          ok = TRUE;
          for (int d = 0; d < v->ndim && ok; d++)
            if (v->shape[d] < 0)
              {
                set_error (error, IODINE_ERROR_INVALID, path, "tensor %s has a negative dimension",
                           v->name);
                ok = FALSE;
              }
          if (ok && !shape_numel (v->shape, v->ndim, &numel))
            {
              set_error (error, IODINE_ERROR_INVALID, path, "tensor %s is too large", v->name);
              ok = FALSE;
            }
          if (ok && numel > 0 && !v->data)
            {
              set_error (error, IODINE_ERROR_INVALID, path, "tensor %s has no data", v->name);
              ok = FALSE;
            }
        }
      if (ok)
        g_hash_table_add (seen, (gpointer) v->name);
    }
  g_hash_table_unref (seen);
  if (ok && metadata)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, metadata);
      while (ok && g_hash_table_iter_next (&it, &k, &v))
        if (!k || !v || !g_utf8_validate (k, -1, NULL) || !g_utf8_validate (v, -1, NULL))
          {
            set_error (error, IODINE_ERROR_INVALID, path,
                       "metadata %s is not a pair of UTF-8 strings", k ? (const char *) k : "(null)");
            ok = FALSE;
          }
    }
  return ok;
}

/* The JSON header, "__metadata__" first with sorted keys (so that equal
 * inputs give equal files), then the tensors in the given order. */
static char *
build_header (const IodineTensorView *tensors, size_t n, GHashTable *metadata, gsize *length)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  if (metadata && g_hash_table_size (metadata) > 0)
    {
      guint nk;
      gpointer *keys = g_hash_table_get_keys_as_array (metadata, &nk);
      qsort (keys, nk, sizeof *keys, compare_strings);
      json_builder_set_member_name (b, METADATA_KEY);
      json_builder_begin_object (b);
      for (guint i = 0; i < nk; i++)
        {
          json_builder_set_member_name (b, keys[i]);
          json_builder_add_string_value (b, g_hash_table_lookup (metadata, keys[i]));
        }
      json_builder_end_object (b);
      g_free (keys);
    }
  guint64 offset = 0;
  for (size_t i = 0; i < n; i++)
    {
      const IodineTensorView *v = &tensors[i];
      size_t numel = 0;
      shape_numel (v->shape, v->ndim, &numel);
      guint64 bytes = (guint64) numel * sizeof (float);
      json_builder_set_member_name (b, v->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "F32");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < v->ndim; d++)
        json_builder_add_int_value (b, v->shape[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) offset);
      json_builder_add_int_value (b, (gint64) (offset + bytes));
      json_builder_end_array (b);
      json_builder_end_object (b);
      offset += bytes;
    }
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  JsonGenerator *g = json_generator_new ();
  json_generator_set_root (g, root);
  char *json = json_generator_to_data (g, length);
  g_object_unref (g);
  json_node_unref (root);
  g_object_unref (b);
  return json;
}

gboolean
iodine_tensor_file_write (const char *path, const IodineTensorView *tensors,
                          size_t n_tensors, GHashTable *metadata, GError **error)
{
  if (!check_views (tensors, n_tensors, metadata, path, error))
    return FALSE;

  gsize json_len;
  char *json = build_header (tensors, n_tensors, metadata, &json_len);
  /* Pad with spaces so that the data area starts at a multiple of 8. */
  gsize n = json_len + (8 - (8 + json_len) % 8) % 8;
  char *header = g_malloc (8 + n);
  guint64 n_le = GUINT64_TO_LE ((guint64) n);
  memcpy (header, &n_le, 8);
  memcpy (header + 8, json, json_len);
  memset (header + 8 + json_len, ' ', n - json_len);
  g_free (json);

  char *tmp = g_strconcat (path, ".tmp-XXXXXX", NULL);
  /* 0666 under the umask, like any new file (g_mkstemp would make it 0600). */
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int e = errno;
      set_error (error, IODINE_ERROR_IO, path, "cannot create a temporary file next to it: %s",
                 g_strerror (e));
      g_free (tmp);
      g_free (header);
      return FALSE;
    }

  const char *step = "cannot write";
  int e = write_all (fd, header, 8 + n);
  for (size_t i = 0; i < n_tensors && !e; i++)
    {
      size_t numel = 0;
      shape_numel (tensors[i].shape, tensors[i].ndim, &numel);
      if (numel)
        e = write_all (fd, tensors[i].data, numel * sizeof (float));
    }
  if (!e && fsync (fd) != 0)
    {
      e = errno;
      step = "cannot sync";
    }
  /* close() can report a delayed write error (NFS, quota). */
  if (close (fd) != 0 && !e)
    {
      e = errno;
      step = "cannot close";
    }
  if (!e && rename (tmp, path) != 0)
    {
      e = errno;
      step = "cannot replace";
    }
  g_free (header);
  if (e)
    {
      unlink (tmp);
      set_error (error, IODINE_ERROR_IO, path, "%s: %s (the previous file, if any, is unchanged)",
                 step, g_strerror (e));
      g_free (tmp);
      return FALSE;
    }
  g_free (tmp);

  /* Make the rename itself durable. The new file is already in place, so a
   * failure here (some file systems refuse fsync on a directory) is not
   * reported as a failed write. */
  char *dir = g_path_get_dirname (path);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void) fsync (dfd);
      close (dfd);
    }
  g_free (dir);
  return TRUE;
}
