/* The AVX2 + FMA copy of conv_winograd.c (simd.h). */
#define IODINE_SIMD_AVX2 1
#include "conv_winograd.c"
