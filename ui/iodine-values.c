/* Default values of the "Decompose into Objects" procedure. */
#include "iodine-dialog.h"

#include <string.h>

void
iodine_decompose_values_init (IodineDecomposeValues *values)
{
  memset (values, 0, sizeof *values);
  values->slots = 4;
  values->iterations = 5;
  values->seed = -1;
  values->deterministic = FALSE;
  values->weights[0] = '\0';
  values->content = IODINE_CONTENT_ORIGINAL;
}
