/* OpenBLAS settings: the fastest kernels this CPU runs, and thread counts. */
#include "iodine.h"

#include "conv_direct.h"
#include "parallel.h"
#include "simd.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void openblas_set_num_threads (int num_threads);

void
iodine_blas_prefer_fast_kernels (char **argv)
{
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
