/* For the convolution tests: runs a check once per copy of the vector
 * kernels this CPU runs (AVX-512, AVX2: engine/simd.h), selected through
 * IODINE_SIMD, printing each copy's failures. */
#ifndef IODINE_TEST_SIMD_LEVELS_H
#define IODINE_TEST_SIMD_LEVELS_H

#include "simd.h"

#include <glib.h>
#include <stdio.h>

/* check (width) for each copy (width: its floats per vector); *failures is
 * the tests' failure count. Returns the number of copies run (0: the CPU
 * has neither, the test should skip). */
static int
for_each_simd_level (void (*check) (int width), const int *failures)
{
  static const struct { const char *name; SimdLevel level; int width; } isas[]
      = { { "avx512", SIMD_AVX512, 16 }, { "avx2", SIMD_AVX2, 8 } };
  int ran = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (isas); i++)
    {
      g_setenv ("IODINE_SIMD", isas[i].name, TRUE);
      if (conv_simd_level () != isas[i].level)
        {
          printf ("%s: not on this CPU\n", isas[i].name);
          continue;
        }
      int before = *failures;
      check (isas[i].width);
      printf ("%s: %d failures\n", isas[i].name, *failures - before);
      ran++;
    }
  g_unsetenv ("IODINE_SIMD");
  return ran;
}

#endif
