/* Which instruction set an OPENBLAS_CORETYPE needs (engine/blas.c): the
 * table that decides whether a setting copied from another machine would
 * die of SIGILL here, so it is dropped. The dropping itself runs in the
 * bad-input catalogue (coretype-*), through the real binary. */
#include "blas.h"

#include <glib.h>

static void
test_coretype_levels (void)
{
  /* OpenBLAS reads the name without regard to case */
  g_assert_cmpint (blas_coretype_level ("SkylakeX"), ==, SIMD_AVX512);
  g_assert_cmpint (blas_coretype_level ("skylakex"), ==, SIMD_AVX512);
  g_assert_cmpint (blas_coretype_level ("COOPERLAKE"), ==, SIMD_AVX512);
  g_assert_cmpint (blas_coretype_level ("SapphireRapids"), ==, SIMD_AVX512);
  g_assert_cmpint (blas_coretype_level ("Haswell"), ==, SIMD_AVX2);
  g_assert_cmpint (blas_coretype_level ("zen"), ==, SIMD_AVX2);
  g_assert_cmpint (blas_coretype_level ("Excavator"), ==, SIMD_AVX2);
  /* older cores, and names the table does not know, are left alone */
  g_assert_cmpint (blas_coretype_level ("Sandybridge"), ==, SIMD_NONE);
  g_assert_cmpint (blas_coretype_level ("Prescott"), ==, SIMD_NONE);
  g_assert_cmpint (blas_coretype_level (""), ==, SIMD_NONE);
  g_assert_cmpint (blas_coretype_level ("SkylakeX2"), ==, SIMD_NONE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/blas/coretype-levels", test_coretype_levels);
  return g_test_run ();
}
