/* OpenBLAS settings: the fastest kernels this CPU runs, and thread counts. */
#include "iodine.h"

#include "blas.h"
#include "conv_direct.h"
#include "parallel.h"
#include "simd.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void openblas_set_num_threads (int num_threads);

SimdLevel
blas_coretype_level (const char *coretype)
{
  static const char *const avx512[] = { "SkylakeX", "Cooperlake", "SapphireRapids" };
  static const char *const avx2[] = { "Haswell", "Zen", "Excavator" };
  for (size_t i = 0; i < G_N_ELEMENTS (avx512); i++)
    if (g_ascii_strcasecmp (coretype, avx512[i]) == 0)
      return SIMD_AVX512;
  for (size_t i = 0; i < G_N_ELEMENTS (avx2); i++)
    if (g_ascii_strcasecmp (coretype, avx2[i]) == 0)
      return SIMD_AVX2;
  return SIMD_NONE;
}

static const char *
simd_level_name (SimdLevel level)
{
  return level == SIMD_AVX512 ? "AVX-512" : level == SIMD_AVX2 ? "AVX2" : "neither AVX2 nor AVX-512";
}

/* An OPENBLAS_CORETYPE this CPU cannot run (a command copied from an
 * AVX-512 machine to an AVX2 one) would kill the program with SIGILL at its
 * first matrix product, with nothing said: a background training run just
 * stops. So the setting is dropped, with a line that says why, and the
 * program starts again without it (the library has already loaded the
 * kernels it names). */
static void
drop_unrunnable_coretype (char **argv)
{
#if defined(__x86_64__) && defined(__GNUC__)
  const char *coretype = getenv ("OPENBLAS_CORETYPE");
  if (!coretype)
    return;
  const char *slash = strrchr (argv[0], '/');
  const char *program = slash ? slash + 1 : argv[0];
  SimdLevel need = blas_coretype_level (coretype), have = conv_simd_cpu_level ();
  if (need <= have)
    return;
  fprintf (stderr,
           "%s: OPENBLAS_CORETYPE=%s selects OpenBLAS kernels that need %s, which this CPU "
           "does not have (it has %s); ignoring it: without it the fastest kernels this CPU "
           "runs are chosen\n",
           program, coretype, simd_level_name (need),
           simd_level_name (have));
  fflush (stderr);
  unsetenv ("OPENBLAS_CORETYPE");
  setenv ("IODINE_NO_REEXEC", "1", 1);
  execv ("/proc/self/exe", argv);
  fprintf (stderr, "%s: cannot restart without OPENBLAS_CORETYPE (%s); unset it and run again\n",
           program, g_strerror (errno));
  exit (1);
#else
  (void) argv;
#endif
}

void
iodine_blas_prefer_fast_kernels (char **argv)
{
  drop_unrunnable_coretype (argv);
  /* Debian 12's OpenBLAS 0.3.21 takes AVX-512 Zen CPUs for Haswell; its
   * SkylakeX kernels run about twice as fast there. The variable is read
   * when the library loads, before main(), so the process re-executes
   * itself once with it set. An explicit setting is the user's choice. */
  if (getenv ("OPENBLAS_CORETYPE") || getenv ("IODINE_NO_REEXEC"))
    return;
#if defined(__x86_64__) && defined(__GNUC__)
  if (conv_simd_cpu_level () != SIMD_AVX512)
    return;
  setenv ("OPENBLAS_CORETYPE", "SkylakeX", 1);
  setenv ("IODINE_NO_REEXEC", "1", 1);
  execv ("/proc/self/exe", argv);
  /* exec failed: go on with the kernels already loaded */
  unsetenv ("OPENBLAS_CORETYPE");
#else
  (void) argv;
#endif
}

void
iodine_blas_set_threads (int n)
{
  if (n <= 0)
    n = (int) g_get_num_processors ();
  /* One pool busy at a time: where the direct convolutions run (nearly all
   * of the work), they use the n threads and OpenBLAS (the small encoder,
   * MLP and LSTM products) one, so that its idle workers do not spin
   * against ours; elsewhere OpenBLAS threads the im2col GEMMs. */
  iodine_parallel_set_threads (n);
  if (conv_direct_enabled ())
    openblas_set_num_threads (1);
  else
    openblas_set_num_threads (n);
}
