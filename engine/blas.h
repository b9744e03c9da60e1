/* Engine-internal side of engine/blas.c: which instruction set an
 * OPENBLAS_CORETYPE setting needs. */
#ifndef IODINE_BLAS_H
#define IODINE_BLAS_H

#include "simd.h"

/* The instruction set OpenBLAS's kernels for CORETYPE (an OPENBLAS_CORETYPE
 * value, any case) execute: SIMD_AVX512 for SkylakeX, Cooperlake and
 * SapphireRapids, SIMD_AVX2 for Haswell, Zen and Excavator, SIMD_NONE for
 * any other name (older cores, or one this table does not know). A setting
 * above conv_simd_cpu_level() stops the program with SIGILL at its first
 * matrix product. */
SimdLevel blas_coretype_level (const char *coretype);

#endif
