/* libFuzzer target: iodine_tensor_file_parse() on arbitrary bytes must give
 * either a file whose tensors are all readable or an IODINE_ERROR, and never
 * crash, leak or read outside the input. */
#include "iodine.h"
#include "tensorfile.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A g_warning or g_critical (a GLib or json-glib precondition failing) is a
 * bug as much as a crash is, so make it abort. With abort() (SIGABRT): a
 * fatal GLib log ends in G_BREAKPOINT (SIGTRAP), which libFuzzer does not
 * catch, and the input would not be saved. */
static void
on_log (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
  (void) data;
  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
    return;
  fprintf (stderr, "%s: %s\n", domain ? domain : "(no domain)", message);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  g_log_set_default_handler (on_log, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  IodineTensorFile *f = iodine_tensor_file_parse (data, size, "fuzz", &error);
  if (!f)
    {
      if (!error || error->domain != IODINE_ERROR || !error->message[0])
        __builtin_trap ();   /* failure without an explanation */
      g_error_free (error);
      return 0;
    }
  if (error)
    __builtin_trap ();

  /* Every tensor can be found by name, has the shape it claims, and all of
   * its floats can be read (ASan checks the buffer sizes). */
  volatile float sum = 0.0f;
  for (guint i = 0; i < f->tensors->len; i++)
    {
      const IodineTensor *t = g_ptr_array_index (f->tensors, i);
      if (iodine_tensor_file_get (f, t->name) != t)
        __builtin_trap ();
      if (!iodine_tensor_file_expect (f, t->name, t->ndim, t->shape, NULL))
        __builtin_trap ();
      for (size_t j = 0; j < t->numel; j++)
        sum += t->data[j];
    }
  (void) sum;
  iodine_tensor_file_free (f);
  return 0;
}
