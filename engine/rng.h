/* A small seedable random generator whose whole state is four words, so that
 * a training checkpoint can store it and resume bit for bit
 * (xoshiro256**, seeded through splitmix64). */
#ifndef IODINE_RNG_H
#define IODINE_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[4];
} IodineRng;

void iodine_rng_seed (IodineRng *rng, uint64_t seed);
/* A generator for item `index` of stream `seed`: independent of any other
 * state, so datasets can produce sample i without producing 0..i-1. */
void iodine_rng_seed2 (IodineRng *rng, uint64_t seed, uint64_t index);
uint64_t iodine_rng_u64 (IodineRng *rng);
/* Uniform in [0, 1). */
double iodine_rng_uniform (IodineRng *rng);
/* Uniform integer in [0, n). */
uint32_t iodine_rng_below (IodineRng *rng, uint32_t n);
/* Standard normal (Box–Muller, no cached second value: the state is only s). */
double iodine_rng_normal (IodineRng *rng);
/* Normal with σ, truncated at ±2σ by resampling (the reference init). */
double iodine_rng_truncated_normal (IodineRng *rng, double sigma);

#endif
