/* Which copy of the vector convolution kernels runs (simd.h): the best
 * instruction set of this CPU, or a lower one that IODINE_SIMD asks for, and
 * the plain entry points of conv_direct.h and conv_winograd.h, which call
 * that copy. */
#include "conv_direct.h"
#include "conv_winograd.h"
#include "simd.h"

#include <string.h>

SimdLevel
conv_simd_cpu_level (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  static int level = -1;
  if (level < 0)
    {
      __builtin_cpu_init ();
      if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
          && __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl")
          && __builtin_cpu_supports ("fma"))
        level = SIMD_AVX512;
      else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
        level = SIMD_AVX2;
      else
        level = SIMD_NONE;
    }
  return (SimdLevel) level;
#else
  return SIMD_NONE;
#endif
}

SimdLevel
conv_simd_level (void)
{
  /* read on every call: the tests switch between the copies */
  if (g_getenv ("IODINE_CONV_GEMM"))
    return SIMD_NONE;
  SimdLevel level = conv_simd_cpu_level ();
  const char *want = g_getenv ("IODINE_SIMD");
  if (want && strcmp (want, "avx2") == 0)
    return MIN (level, SIMD_AVX2);
  if (want && strcmp (want, "none") == 0)
    return SIMD_NONE;
  return level;
}

gboolean
conv_direct_enabled (void)
{
  return conv_simd_level () != SIMD_NONE;
}

/* Only the copy in use answers TRUE, so the two availabilities are or-ed;
 * workspaces are the larger of the two copies' needs. */
#define AVAILABLE(name)                                                                         \
  gboolean name (const ConvShape *s)                                                            \
  {                                                                                             \
    return name##_avx512 (s) || name##_avx2 (s);                                                \
  }
AVAILABLE (conv_direct_available)
AVAILABLE (conv_direct_backward_input_available)
AVAILABLE (conv_direct_backward_weights_available)
AVAILABLE (conv_direct_forward_elu_available)
AVAILABLE (conv_winograd_available)
AVAILABLE (conv_winograd_backward_input_available)
AVAILABLE (conv_winograd_backward_weights_available)

#define WORKSPACE(name)                                                                         \
  size_t name (const ConvShape *s)                                                              \
  {                                                                                             \
    return MAX (name##_avx512 (s), name##_avx2 (s));                                            \
  }
WORKSPACE (conv_direct_workspace_floats)
WORKSPACE (conv_winograd_workspace_floats)
WORKSPACE (conv_winograd_backward_weights_floats)

#define CALL(name, ...)                                                                         \
  do                                                                                            \
    {                                                                                           \
      if (conv_simd_level () == SIMD_AVX512)                                                    \
        name##_avx512 (__VA_ARGS__);                                                            \
      else                                                                                      \
        name##_avx2 (__VA_ARGS__);                                                              \
    }                                                                                           \
  while (0)

void
conv_direct_forward (float *y, const float *x, const float *w, const float *b, const ConvShape *s,
                     float *work, ConvEpilogue epi)
{
  CALL (conv_direct_forward, y, x, w, b, s, work, epi);
}

void
conv_direct_backward_input (float *dx, const float *dy, const float *w, const ConvShape *s,
                            float *work, const float *elu_out)
{
  CALL (conv_direct_backward_input, dx, dy, w, s, work, elu_out);
}

void
conv_direct_backward_weights (float *dw, const float *dy, const float *x, const ConvShape *s,
                              float *work)
{
  CALL (conv_direct_backward_weights, dw, dy, x, s, work);
}

void
conv_winograd_forward (float *y, const float *x, const float *w, const float *b,
                       const ConvShape *s, float *work, ConvEpilogue epi)
{
  CALL (conv_winograd_forward, y, x, w, b, s, work, epi);
}

void
conv_winograd_backward_input (float *dx, const float *dy, const float *w, const ConvShape *s,
                              float *work, const float *elu_out)
{
  CALL (conv_winograd_backward_input, dx, dy, w, s, work, elu_out);
}

void
conv_winograd_backward_weights (float *dw, const float *dy, const float *x, const ConvShape *s,
                                float *work)
{
  CALL (conv_winograd_backward_weights, dw, dy, x, s, work);
}
