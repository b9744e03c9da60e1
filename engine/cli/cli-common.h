/* What the two command-line programs share: exit codes and error printing. */
#ifndef IODINE_CLI_COMMON_H
#define IODINE_CLI_COMMON_H

#include <glib.h>

enum { CLI_OK = 0, CLI_RUNTIME_ERROR = 1, CLI_USAGE_ERROR = 2 };

/* Prints "PROGRAM: message" and returns the exit code for the error:
 * 2 for bad input or usage (invalid option, unreadable or mismatched file),
 * 1 for failures while running. Frees the error. */
int cli_fail (const char *program, GError *error);
/* Prints a usage error and returns 2. */
int cli_usage (const char *program, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Parses "WxH". */
gboolean cli_parse_size (const char *text, int *width, int *height);
/* An int option that was not given: options whose 0 would otherwise be
 * taken silently for "the default" start with this value. */
#define CLI_UNSET G_MININT
/* Checks before any work that PATH can be written later: its directory
 * exists and it is not itself a directory. Prints "PROGRAM: cannot write
 * PATH (OPTION): ..." and returns FALSE if not. */
gboolean cli_check_output (const char *program, const char *option, const char *path);
/* TRUE if stderr is a terminal (for progress bars). */
gboolean cli_is_terminal (void);

#endif
