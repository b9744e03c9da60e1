#include "cli-common.h"

#include "iodine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
cli_fail (const char *program, GError *error)
{
  fprintf (stderr, "%s: %s\n", program, error->message);
  int code = CLI_RUNTIME_ERROR;
  if (error->domain == IODINE_ERROR
      && (error->code == IODINE_ERROR_FORMAT || error->code == IODINE_ERROR_MISMATCH
          || error->code == IODINE_ERROR_INVALID || error->code == IODINE_ERROR_MEMORY
          || error->code == IODINE_ERROR_IO || error->code == IODINE_ERROR_NONFINITE))
    code = CLI_USAGE_ERROR;
  if (error->domain == G_OPTION_ERROR || error->domain == G_FILE_ERROR)
    code = CLI_USAGE_ERROR;
  g_error_free (error);
  return code;
}

int
cli_usage (const char *program, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "%s: %s\nTry “%s --help”.\n", program, msg, program);
  g_free (msg);
  return CLI_USAGE_ERROR;
}

gboolean
cli_parse_size (const char *text, int *width, int *height)
{
  char *end;
  long w = strtol (text, &end, 10);
  if (end == text || (*end != 'x' && *end != 'X'))
    return FALSE;
  const char *h_text = end + 1;
  long h = strtol (h_text, &end, 10);
  if (end == h_text || *end != '\0' || w < 2 || h < 2 || w > 4096 || h > 4096)
    return FALSE;
  *width = (int) w;
  *height = (int) h;
  return TRUE;
}

gboolean
cli_check_output (const char *program, const char *option, const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      fprintf (stderr, "%s: cannot write %s (%s): it is a directory\n", program, path, option);
      return FALSE;
    }
  char *dir = g_path_get_dirname (path);
  gboolean ok = g_file_test (dir, G_FILE_TEST_IS_DIR);
  if (!ok)
    fprintf (stderr, "%s: cannot write %s (%s): the directory %s does not exist\n", program,
             path, option, dir);
  g_free (dir);
  return ok;
}

gboolean
cli_is_terminal (void)
{
  return isatty (STDERR_FILENO);
}
