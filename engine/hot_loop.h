/* HOT_LOOP marks an element-wise loop function for an AVX-512 (and AVX2)
 * clone, picked at load time on CPUs that have it: the project is built for
 * baseline x86-64, and these loops are where the extra width pays. */
#ifndef IODINE_HOT_LOOP_H
#define IODINE_HOT_LOOP_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define HOT_LOOP
#endif

#endif
