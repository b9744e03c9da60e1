#include "rng.h"

#include <math.h>

static uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
iodine_rng_seed (IodineRng *rng, uint64_t seed)
{
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

void
iodine_rng_seed2 (IodineRng *rng, uint64_t seed, uint64_t index)
{
  uint64_t x = seed;
  uint64_t mixed = splitmix64 (&x) ^ (index * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
  iodine_rng_seed (rng, mixed);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

uint64_t
iodine_rng_u64 (IodineRng *rng)
{
  uint64_t *s = rng->s;
  uint64_t result = rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
iodine_rng_uniform (IodineRng *rng)
{
  return (double) (iodine_rng_u64 (rng) >> 11) * 0x1.0p-53;
}

uint32_t
iodine_rng_below (IodineRng *rng, uint32_t n)
{
  /* Lemire's multiply-shift; the tiny bias is irrelevant here. */
  return (uint32_t) (((iodine_rng_u64 (rng) >> 32) * (uint64_t) n) >> 32);
}

double
iodine_rng_normal (IodineRng *rng)
{
  double u1 = 1.0 - iodine_rng_uniform (rng); /* (0, 1] */
  double u2 = iodine_rng_uniform (rng);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

double
iodine_rng_truncated_normal (IodineRng *rng, double sigma)
{
  for (;;)
    {
      double v = iodine_rng_normal (rng);
      if (v >= -2.0 && v <= 2.0)
        return v * sigma;
    }
}
