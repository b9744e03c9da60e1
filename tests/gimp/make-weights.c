/* make-weights PRESET OUT.safetensors [SEED]: writes a randomly initialised
 * model of a spec §4 configuration, for the plug-in tests until trained
 * weights are shipped. */
#include <stdio.h>
#include <stdlib.h>

#include "iodine.h"

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: %s PRESET OUT.safetensors [SEED]\n", argv[0]);
      return 2;
    }
  GError *error = NULL;
  IodineConfig cfg;
  if (!iodine_config_preset (argv[1], &cfg, &error))
    goto fail;
  IodineModel *model = iodine_model_new_random (&cfg, argc > 3 ? strtoull (argv[3], NULL, 10) : 1, &error);
  if (!model)
    goto fail;
  iodine_model_set_metadata (model, "dataset", argv[1]);
  gboolean ok = iodine_model_save (model, argv[2], NULL, &error);
  iodine_model_free (model);
  if (ok)
    return 0;
fail:
  fprintf (stderr, "%s: %s\n", argv[0], error->message);
  g_error_free (error);
  return 1;
}
