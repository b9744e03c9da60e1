/* safetensors reader and writer: round trip, a table of corrupt files (each
 * must give a clear IODINE_ERROR_FORMAT, never a crash), and writes that fail
 * (the old file must survive and no temporary may be left behind). */
#include "iodine.h"
#include "tensorfile.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char *tmpdir;

/* 8-byte little-endian header length (the real one unless header_len is
 * given), the header, then data_bytes bytes of floats 0, 1, 2, ... */
static GByteArray *
make_file (const char *json, size_t json_len, guint64 header_len, size_t data_bytes)
{
  GByteArray *b = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE (header_len ? header_len : json_len);
  g_byte_array_append (b, (const guint8 *) &n, 8);
  g_byte_array_append (b, (const guint8 *) json, (guint) json_len);
  for (size_t i = 0; i < data_bytes; i++)
    {
      float f = (float) (i / 4);
      g_byte_array_append (b, (const guint8 *) &f + i % 4, 1);
    }
  return b;
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        remove_tree (p);
      else
        g_unlink (p);
      g_free (p);
    }
  g_dir_close (d);
  g_rmdir (dir);
}

/* No "*.tmp-XXXXXX" left in dir. */
static void
assert_no_temp (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (strstr (name, ".tmp-"))
      g_error ("temporary file %s left in %s", name, dir);
  g_dir_close (d);
}

/* ------------------------------------------------------------------------ */

static const float lambda_data[4] = { 1.5f, -2.25f, 1e-30f, 3.0e30f };
static float scalar_data[1] = { 42.0f };
static float big_data[2 * 3 * 2 * 2];

static IodineTensorView views[] = {
  { "init.lambda", 1, { 4 }, lambda_data },
  { "scalar", 0, { 0 }, scalar_data },
  { "empty", 1, { 0 }, NULL },
  { "refine.conv.0.weight", 4, { 2, 3, 2, 2 }, big_data },
  { "empty.3d", 3, { 2, 0, 3 }, NULL },
  { "naïve \"name\" \\ ✓", 1, { 1 }, scalar_data },
};
#define N_VIEWS G_N_ELEMENTS (views)

static GHashTable *
test_metadata (void)
{
  GHashTable *m = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (m, "format", "iodine");
  g_hash_table_insert (m, "quotes", "say \"hi\" \\ back\\slash");
  g_hash_table_insert (m, "unicode", "é ✓ 😀 日本");
  g_hash_table_insert (m, "control", "tab\there\nnewline \x01");
  g_hash_table_insert (m, "empty", "");
  return m;
}

static void
check_views (const IodineTensorFile *f)
{
  g_assert_cmpuint (f->tensors->len, ==, N_VIEWS);
  for (size_t i = 0; i < N_VIEWS; i++)
    {
      const IodineTensor *t = g_ptr_array_index (f->tensors, i);
      g_assert_cmpstr (t->name, ==, views[i].name);   /* header order kept */
      g_assert_true (iodine_tensor_file_get (f, views[i].name) == t);
      g_assert_cmpint (t->ndim, ==, views[i].ndim);
      size_t numel = 1;
      for (int d = 0; d < t->ndim; d++)
        {
          g_assert_cmpint (t->shape[d], ==, views[i].shape[d]);
          numel *= (size_t) views[i].shape[d];
        }
      g_assert_cmpuint (t->numel, ==, numel);
      g_assert_nonnull (t->data);
      g_assert_cmpuint ((uintptr_t) t->data % 4, ==, 0);
      if (numel)
        g_assert_cmpmem (t->data, numel * 4, views[i].data, numel * 4);
      GError *error = NULL;
      g_assert_true (iodine_tensor_file_expect (f, t->name, t->ndim, t->shape, &error) == t);
      g_assert_no_error (error);
    }
}

static void
test_round_trip (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (big_data); i++)
    big_data[i] = (float) i * 0.25f - 1.0f;
  GHashTable *meta = test_metadata ();
  char *path = g_build_filename (tmpdir, "round.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (iodine_tensor_file_write (path, views, N_VIEWS, meta, &error));
  g_assert_no_error (error);
  assert_no_temp (tmpdir);

  /* The data area starts at a multiple of 8 and the header is only spaces
   * after its JSON. */
  char *bytes;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  guint64 n;
  memcpy (&n, bytes, 8);
  n = GUINT64_FROM_LE (n);
  g_assert_cmpuint ((8 + n) % 8, ==, 0);
  g_assert_true (g_str_has_prefix (bytes + 8, "{\"__metadata__\""));
  g_assert_cmpuint (len, ==, 8 + n + (4 + 1 + 24 + 1) * 4);

  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  g_assert_cmpstr (f->path, ==, path);
  check_views (f);
  g_assert_cmpuint (g_hash_table_size (f->metadata), ==, g_hash_table_size (meta));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, meta);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_assert_cmpstr (g_hash_table_lookup (f->metadata, k), ==, v);
  iodine_tensor_file_free (f);

  /* The same bytes parsed from an odd address: data must still come out
   * aligned and equal. */
  guint8 *odd = g_malloc (len + 1);
  memcpy (odd + 1, bytes, len);
  f = iodine_tensor_file_parse (odd + 1, len, "odd", &error);
  g_assert_no_error (error);
  check_views (f);
  iodine_tensor_file_free (f);
  g_free (odd);

  /* Writing the same thing again gives the same bytes (sorted metadata). */
  g_assert_true (iodine_tensor_file_write (path, views, N_VIEWS, meta, &error));
  char *again;
  gsize again_len;
  g_assert_true (g_file_get_contents (path, &again, &again_len, NULL));
  g_assert_cmpmem (again, again_len, bytes, len);
  g_free (again);

  /* No metadata at all: an empty table on reading. */
  g_assert_true (iodine_tensor_file_write (path, views, 1, NULL, &error));
  f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (f->metadata), ==, 0);
  g_assert_cmpuint (f->tensors->len, ==, 1);
  iodine_tensor_file_free (f);

  /* No tensors either. */
  g_assert_true (iodine_tensor_file_write (path, NULL, 0, NULL, &error));
  f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->tensors->len, ==, 0);
  iodine_tensor_file_free (f);

  g_free (bytes);
  g_unlink (path);
  g_free (path);
  g_hash_table_unref (meta);
}

static void
test_expect (void)
{
  char *path = g_build_filename (tmpdir, "weights.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (iodine_tensor_file_write (path, views, N_VIEWS, NULL, &error));
  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);

  int64_t wrong[4] = { 2, 3, 2, 3 };
  g_assert_null (iodine_tensor_file_expect (f, "refine.conv.0.weight", 4, wrong, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message,
                            "tensor refine.conv.0.weight has shape [2, 3, 2, 2], expected [2, 3, 2, 3]"));
  g_clear_error (&error);

  g_assert_null (iodine_tensor_file_expect (f, "refine.conv.0.weight", 3, wrong, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "expected [2, 3, 2]"));
  g_clear_error (&error);

  g_assert_null (iodine_tensor_file_expect (f, "refine.update.bias", 1, wrong, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "missing tensor refine.update.bias"));
  g_clear_error (&error);
  g_assert_null (iodine_tensor_file_get (f, "refine.update.bias"));

  int64_t none[1] = { 0 };
  g_assert_nonnull (iodine_tensor_file_expect (f, "scalar", 0, none, &error));
  g_assert_no_error (error);
  iodine_tensor_file_free (f);
  g_unlink (path);
  g_free (path);
}

/* ------------------------------------------------------------------------ */
/* corrupt files */

typedef struct {
  const char *what;
  const char *json;          /* NULL: raw_size zero bytes */
  size_t data_bytes;
  guint64 header_len;        /* 0: the real length */
  size_t raw_size;
  const char *message;       /* a substring of the error */
} BadCase;

#define F32(shape, off) "{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" off "}"

static const BadCase bad_cases[] = {
  { "empty file", NULL, 0, 0, 0, "file is 0 bytes, too short" },
  { "7-byte file", NULL, 0, 0, 7, "file is 7 bytes, too short" },
  { "header length 0", NULL, 0, 0, 8, "header length 0 is too small" },
  { "header length past the end", "{}", 0, 1000, 0, "header length 1000 runs past the end" },
  { "header length 2^63", "{}", 0, (guint64) 1 << 63, 0, "is above the limit of 100 MB" },
  { "header length 2^64-1", "{}", 0, G_MAXUINT64, 0, "is above the limit of 100 MB" },
  { "bad JSON", "{\"a\":", 0, 0, 0, "header is not valid JSON" },
  { "unbalanced JSON", "{\"a\":{}}}", 0, 0, 0, "header is not valid JSON" },
  { "JSON array", "[1, 2]", 0, 0, 0, "header is not a JSON object" },
  { "JSON string", "\"abc\"", 0, 0, 0, "header is not" },
  { "only spaces", "        ", 0, 0, 0, "header is not" },
  { "single quotes", "{'w':1}", 0, 0, 0, "unexpected character" },
  { "comment", "{/* ] */}", 0, 0, 0, "unexpected character" },
  { "hex number", "{\"w\":" "{\"dtype\":\"F32\",\"shape\":[0x1],\"data_offsets\":[0,4]}}", 4, 0, 0,
    "unexpected character" },
  { "non-UTF-8 header", "{\"\xff\xfe\":1}", 0, 0, 0, "not valid UTF-8" },
  { "\\u0000 in a name", "{\"a\\u0000b\":" F32 ("[1]", "[0,4]") "}", 4, 0, 0, "\\u0000" },
  { "entry not an object", "{\"w\":[1]}", 0, 0, 0, "tensor w: entry is not a JSON object" },
  { "dtype F16", "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, 0, 0,
    "tensor w has dtype F16; only F32 is supported" },
  { "dtype I64", "{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, 0, 0,
    "tensor w has dtype I64; only F32 is supported" },
  { "dtype missing", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, 0, "tensor w has no dtype" },
  { "dtype a number", "{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, 0,
    "tensor w has no dtype" },
  { "shape missing", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, 0,
    "tensor w has no shape array" },
  { "shape negative", "{\"w\":" F32 ("[2,-1]", "[0,4]") "}", 4, 0, 0,
    "tensor w: shape element 1 is not a non-negative integer" },
  { "shape non-integer", "{\"w\":" F32 ("[1.5]", "[0,4]") "}", 4, 0, 0,
    "tensor w: shape element 0 is not a non-negative integer" },
  { "shape a string", "{\"w\":" F32 ("[\"1\"]", "[0,4]") "}", 4, 0, 0,
    "shape element 0 is not a non-negative integer" },
  { "shape above int64", "{\"w\":" F32 ("[18446744073709551616]", "[0,4]") "}", 4, 0, 0,
    "shape element 0 is not a non-negative integer" },
  { "shape 2^63", "{\"w\":" F32 ("[9223372036854775808]", "[0,4]") "}", 4, 0, 0,
    "shape element 0 is not a non-negative integer" },
  { "9 dimensions", "{\"w\":" F32 ("[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, 0, 0,
    "tensor w has 9 dimensions; at most 8" },
  { "numel overflow", "{\"w\":" F32 ("[4611686018427387904,4611686018427387904,4]", "[0,4]") "}", 4, 0, 0,
    "tensor w: shape [4611686018427387904, 4611686018427387904, 4] is too large" },
  { "data_offsets missing", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, 0,
    "tensor w: data_offsets is not an array of two" },
  { "data_offsets three", "{\"w\":" F32 ("[1]", "[0,4,8]") "}", 4, 0, 0,
    "tensor w: data_offsets is not an array of two" },
  { "data_offsets negative", "{\"w\":" F32 ("[1]", "[-4,0]") "}", 4, 0, 0,
    "tensor w: data_offsets is not an array of two" },
  { "data_offsets reversed", "{\"w\":" F32 ("[1]", "[4,0]") "}", 4, 0, 0,
    "tensor w: data_offsets [4, 0] are reversed" },
  { "data_offsets past the end", "{\"w\":" F32 ("[2]", "[0,8]") "}", 4, 0, 0,
    "tensor w: data_offsets [0, 8] run past the end of the data area (4 bytes)" },
  { "data_offsets huge", "{\"w\":" F32 ("[1]", "[9223372036854775800,9223372036854775804]") "}", 4, 0, 0,
    "run past the end of the data area" },
  { "wrong length for the shape", "{\"w\":" F32 ("[3]", "[0,8]") "}", 8, 0, 0,
    "tensor w: data_offsets [0, 8] hold 8 bytes but shape [3] needs 12" },
  { "overlapping offsets", "{\"a\":" F32 ("[2]", "[0,8]") ",\"b\":" F32 ("[2]", "[4,12]") "}", 12, 0, 0,
    "tensor b: data_offsets [4, 12] overlap tensor a [0, 8]" },
  { "same offsets twice", "{\"a\":" F32 ("[1]", "[0,4]") ",\"b\":" F32 ("[1]", "[0,4]") "}", 4, 0, 0,
    "overlap tensor" },
  { "gap in data", "{\"a\":" F32 ("[1]", "[0,4]") ",\"b\":" F32 ("[1]", "[8,12]") "}", 12, 0, 0,
    "tensor b: data_offsets [8, 12] leave a gap: bytes 4 to 8 belong to no tensor" },
  { "gap at the start", "{\"a\":" F32 ("[1]", "[4,8]") "}", 8, 0, 0, "bytes 0 to 4 belong to no tensor" },
  { "duplicate names", "{\"a\":" F32 ("[1]", "[0,4]") ",\"a\":" F32 ("[1]", "[4,8]") "}", 8, 0, 0,
    "tensor a appears twice in the header" },
  { "duplicate key in an entry",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, 0,
    "tensor a: key shape appears twice" },
  /* The object with the repeated key is freed when "a" is replaced; "b" may
   * get its address, and must not be named as its owner. */
  { "duplicate key in a replaced entry",
    "{\"a\":{\"x\":1,\"x\":2},\"a\":5,\"b\":{\"y\":1}}", 0, 0, 0,
    "key x appears twice in the header" },
  { "duplicate metadata key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, 0, 0,
    "__metadata__: key k appears twice" },
  { "metadata value not a string", "{\"__metadata__\":{\"format\":\"iodine\",\"slots\":4}}", 0, 0, 0,
    "__metadata__: the value of slots is not a string" },
  { "metadata value null", "{\"__metadata__\":{\"k\":null}}", 0, 0, 0,
    "__metadata__: the value of k is not a string" },
  { "metadata not an object", "{\"__metadata__\":[\"a\"]}", 0, 0, 0, "__metadata__ is not a JSON object" },
  { "trailing garbage after data", "{\"w\":" F32 ("[1]", "[0,4]") "}", 8, 0, 0,
    "4 bytes of trailing data after the last tensor" },
  { "data but no tensors", "{}", 4, 0, 0, "4 bytes of trailing data" },
};

static void
check_bad (const char *what, const guint8 *bytes, size_t size, const char *message)
{
  GError *error = NULL;
  IodineTensorFile *f = iodine_tensor_file_parse (bytes, size, "bad.safetensors", &error);
  if (f || !error || !g_error_matches (error, IODINE_ERROR, IODINE_ERROR_FORMAT)
      || !strstr (error->message, message) || !g_str_has_prefix (error->message, "bad.safetensors: "))
    g_error ("case \"%s\": expected FORMAT error containing \"%s\", got %s",
             what, message, error ? error->message : "success");
  g_test_message ("%s -> %s", what, error->message);
  g_error_free (error);
}

static void
test_corrupt (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const BadCase *c = &bad_cases[i];
      if (!c->json)
        {
          guint8 *zero = g_malloc0 (c->raw_size + 1);
          check_bad (c->what, zero, c->raw_size, c->message);
          g_free (zero);
          continue;
        }
      GByteArray *b = make_file (c->json, strlen (c->json), c->header_len, c->data_bytes);
      /* An exact-size copy, so that ASan sees any read past the end. */
      guint8 *exact = g_memdup2 (b->data, b->len);
      check_bad (c->what, exact, b->len, c->message);
      g_free (exact);
      g_byte_array_unref (b);
    }

  /* A NUL byte inside the header. */
  static const char nul[] = "{\"a\":1\0}";
  GByteArray *b = make_file (nul, sizeof nul - 1, 0, 0);
  check_bad ("NUL in header", b->data, b->len, "header contains a NUL byte at byte 6");
  g_byte_array_unref (b);

  /* Nesting that would overflow json-glib's recursive parser. */
  GString *deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  b = make_file (deep->str, deep->len, 0, 0);
  check_bad ("deep nesting", b->data, b->len, "nests deeper than");
  g_byte_array_unref (b);
  g_string_free (deep, TRUE);

  /* A '"' hidden by an escape must not end the string for the depth scan. */
  const char *esc = "{\"a\\\"[[[[[[[[[[[[[[[[[[[[\":1}";
  b = make_file (esc, strlen (esc), 0, 0);
  check_bad ("escaped quote", b->data, b->len, "tensor a\"[[[[[[[[[[[[[[[[[[[[: entry is not a JSON object");
  g_byte_array_unref (b);
}

/* Files other writers could produce, which must be accepted. */
static void
test_foreign (void)
{
  GError *error = NULL;
  /* Header length not a multiple of 8, tensors listed in another order than
   * their data, an empty tensor in the middle, unknown entry keys. */
  const char *json = "{\"b\":" F32 ("[1]", "[8,12]") ",\"e\":" F32 ("[0]", "[8,8]")
                     ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":[{}]}} ";
  GByteArray *b = make_file (json, strlen (json), 0, 12);
  g_assert_cmpuint ((8 + strlen (json)) % 4, !=, 0);
  IodineTensorFile *f = iodine_tensor_file_parse (b->data, b->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->tensors->len, ==, 3);
  g_assert_cmpstr (((IodineTensor *) g_ptr_array_index (f->tensors, 0))->name, ==, "b");
  const IodineTensor *a = iodine_tensor_file_get (f, "a");
  const IodineTensor *t = iodine_tensor_file_get (f, "b");
  g_assert_cmpfloat (a->data[0], ==, 0.0f);
  g_assert_cmpfloat (a->data[1], ==, 1.0f);
  g_assert_cmpfloat (t->data[0], ==, 2.0f);
  g_assert_cmpuint (iodine_tensor_file_get (f, "e")->numel, ==, 0);
  iodine_tensor_file_free (f);
  g_byte_array_unref (b);

  /* The smallest valid file. */
  b = make_file ("{}", 2, 0, 0);
  f = iodine_tensor_file_parse (b->data, b->len, "x", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->tensors->len, ==, 0);
  iodine_tensor_file_free (f);
  g_byte_array_unref (b);
}

static void
test_read_errors (void)
{
  GError *error = NULL;
  char *missing = g_build_filename (tmpdir, "no-such.safetensors", NULL);
  g_assert_null (iodine_tensor_file_read (missing, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_free (missing);

  g_assert_null (iodine_tensor_file_read (tmpdir, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_IO);
  g_clear_error (&error);

  char *empty = g_build_filename (tmpdir, "empty.safetensors", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_null (iodine_tensor_file_read (empty, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_FORMAT);
  g_assert_true (g_str_has_prefix (error->message, empty));
  g_clear_error (&error);
  g_unlink (empty);
  g_free (empty);
}

/* ------------------------------------------------------------------------ */
/* writes that fail */

static void
assert_write_fails (const char *path, const char *dir, int code)
{
  GError *error = NULL;
  g_assert_false (iodine_tensor_file_write (path, views, N_VIEWS, NULL, &error));
  g_assert_error (error, IODINE_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (dir)
    assert_no_temp (dir);
  g_error_free (error);
}

static void
test_write_errors (void)
{
  /* Missing directory. */
  char *path = g_build_filename (tmpdir, "missing", "w.safetensors", NULL);
  assert_write_fails (path, NULL, IODINE_ERROR_IO);
  g_free (path);

  /* A file where the directory should be (chmod does not stop root). */
  char *file = g_build_filename (tmpdir, "plain-file", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  path = g_build_filename (file, "w.safetensors", NULL);
  assert_write_fails (path, tmpdir, IODINE_ERROR_IO);
  g_free (path);
  g_unlink (file);
  g_free (file);

  /* A directory where nothing can be created, for root too. */
  assert_write_fails ("/proc/iodine-test.safetensors", NULL, IODINE_ERROR_IO);

  /* A read-only directory stops everyone but root. */
  if (geteuid () != 0)
    {
      char *ro = g_build_filename (tmpdir, "read-only", NULL);
      g_assert_cmpint (g_mkdir (ro, 0555), ==, 0);
      path = g_build_filename (ro, "w.safetensors", NULL);
      assert_write_fails (path, ro, IODINE_ERROR_IO);
      g_chmod (ro, 0755);
      g_rmdir (ro);
      g_free (path);
      g_free (ro);
    }

  /* A non-empty directory at the path: the rename fails after the temporary
   * was written, and the temporary must go. */
  char *dir = g_build_filename (tmpdir, "a-directory", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  char *inside = g_build_filename (dir, "keep", NULL);
  g_assert_true (g_file_set_contents (inside, "keep", 4, NULL));
  assert_write_fails (dir, tmpdir, IODINE_ERROR_IO);
  g_assert_true (g_file_test (inside, G_FILE_TEST_EXISTS));
  g_unlink (inside);
  g_rmdir (dir);
  g_free (inside);
  g_free (dir);

  /* Invalid arguments. */
  path = g_build_filename (tmpdir, "invalid.safetensors", NULL);
  IodineTensorView twice[2] = { views[0], views[0] };
  GError *error = NULL;
  g_assert_false (iodine_tensor_file_write (path, twice, 2, NULL, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "tensor init.lambda is given twice"));
  g_clear_error (&error);
  IodineTensorView bad = { "__metadata__", 1, { 1 }, scalar_data };
  g_assert_false (iodine_tensor_file_write (path, &bad, 1, NULL, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  bad = (IodineTensorView) { "neg", 2, { 2, -1 }, scalar_data };
  g_assert_false (iodine_tensor_file_write (path, &bad, 1, NULL, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  bad = (IodineTensorView) { "nine", 9, { 1 }, scalar_data };
  g_assert_false (iodine_tensor_file_write (path, &bad, 1, NULL, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (iodine_tensor_file_write (path, NULL, 2, NULL, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_free (path);
  assert_no_temp (tmpdir);
}

/* A write that fails half-way (here: the file size limit, which binds root
 * too; like ENOSPC) keeps the previous file and leaves no temporary. */
static void
test_write_keeps_old (void)
{
  char *path = g_build_filename (tmpdir, "keep.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (iodine_tensor_file_write (path, views, 1, NULL, &error));
  char *old;
  gsize old_len;
  g_assert_true (g_file_get_contents (path, &old, &old_len, NULL));

  size_t n = 64 * 1024;
  float *big = g_new0 (float, n);
  IodineTensorView v = { "big", 1, { (int64_t) n }, big };
  struct rlimit saved, lim;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  lim = saved;
  lim.rlim_cur = 16 * 1024;
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
  gboolean ok = iodine_tensor_file_write (path, &v, 1, NULL, &error);
  int e = errno;
  setrlimit (RLIMIT_FSIZE, &saved);
  signal (SIGXFSZ, old_handler);
  (void) e;
  g_assert_false (ok);
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
  g_clear_error (&error);
  assert_no_temp (tmpdir);

  char *now;
  gsize now_len;
  g_assert_true (g_file_get_contents (path, &now, &now_len, NULL));
  g_assert_cmpmem (now, now_len, old, old_len);
  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  iodine_tensor_file_free (f);

  g_free (now);
  g_free (old);
  g_free (big);
  g_unlink (path);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("iodine-tensorfile-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_test_add_func ("/tensorfile/round-trip", test_round_trip);
  g_test_add_func ("/tensorfile/expect", test_expect);
  g_test_add_func ("/tensorfile/corrupt", test_corrupt);
  g_test_add_func ("/tensorfile/foreign", test_foreign);
  g_test_add_func ("/tensorfile/read-errors", test_read_errors);
  g_test_add_func ("/tensorfile/write-errors", test_write_errors);
  g_test_add_func ("/tensorfile/write-keeps-old", test_write_keeps_old);
  int rc = g_test_run ();
  remove_tree (tmpdir);
  g_free (tmpdir);
  return rc;
}
