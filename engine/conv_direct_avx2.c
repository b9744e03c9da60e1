/* The AVX2 + FMA copy of conv_direct.c (simd.h). */
#define IODINE_SIMD_AVX2 1
#include "conv_direct.c"
