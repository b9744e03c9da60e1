/* What the vectorised convolution kernels (conv_direct.c, conv_winograd.c,
 * conv_winograd_dw.c) share: one vector type and its operations, the target
 * attributes, the register blocking of their broadcast-FMA kernels and the
 * ELU of their fused epilogues.
 *
 * Each kernel file is compiled once per instruction set: as itself for
 * AVX-512 (16-float vectors, 32 registers), and through a *_avx2.c file that
 * defines IODINE_SIMD_AVX2 first for AVX2 + FMA (8-float vectors, 16
 * registers). SIMD_NAME gives each copy's entry points their own suffix;
 * conv_simd.c picks the copy this CPU runs. */
#ifndef IODINE_SIMD_H
#define IODINE_SIMD_H

#include <glib.h>

/* The instruction sets, best last; conv_simd_level() is the one in use. */
typedef enum { SIMD_NONE, SIMD_AVX2, SIMD_AVX512 } SimdLevel;
SimdLevel conv_simd_level (void);
/* The best one this CPU has, whatever IODINE_SIMD and IODINE_CONV_GEMM say. */
SimdLevel conv_simd_cpu_level (void);

#define SIMD_PASTE_(a, b) a##_##b
#define SIMD_PASTE(a, b) SIMD_PASTE_ (a, b)

#ifdef IODINE_SIMD_AVX2
#define SIMD_SUFFIX avx2
#define SIMD_THIS_LEVEL SIMD_AVX2
#define VW 8
#define SIMD_REGS 16
/* the most channel vectors a register block takes (simd_channel_group) */
#define SIMD_MAX_GROUP 2
#else
#define SIMD_SUFFIX avx512
#define SIMD_THIS_LEVEL SIMD_AVX512
#define VW 16
#define SIMD_REGS 32
#define SIMD_MAX_GROUP 4
#endif
/* name_avx512 or name_avx2: this copy's version of an entry point */
#define SIMD_NAME(name) SIMD_PASTE (name, SIMD_SUFFIX)

/* TRUE if this copy of the kernels is the one in use. */
static inline gboolean
simd_this_level_active (void)
{
  return conv_simd_level () == SIMD_THIS_LEVEL;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define IODINE_X86 1
#include <immintrin.h>

#ifdef IODINE_SIMD_AVX2
#define SIMD_TARGET "avx2,fma"
typedef __m256 vf;
typedef __m256i vi;
#else
#define SIMD_TARGET "avx512f,avx512vl,avx512bw,avx512dq,fma"
typedef __m512 vf;
typedef __m512i vi;
#endif
#define SIMD __attribute__ ((target (SIMD_TARGET)))
#define SIMD_INLINE __attribute__ ((target (SIMD_TARGET), always_inline)) inline

#ifdef IODINE_SIMD_AVX2
static SIMD_INLINE vf vf_zero (void) { return _mm256_setzero_ps (); }
static SIMD_INLINE vf vf_load (const float *p) { return _mm256_loadu_ps (p); }
static SIMD_INLINE void vf_store (float *p, vf v) { _mm256_storeu_ps (p, v); }
static SIMD_INLINE vf vf_set1 (float x) { return _mm256_set1_ps (x); }
static SIMD_INLINE vf vf_fmadd (vf a, vf b, vf c) { return _mm256_fmadd_ps (a, b, c); }
static SIMD_INLINE vf vf_add (vf a, vf b) { return _mm256_add_ps (a, b); }
static SIMD_INLINE vf vf_sub (vf a, vf b) { return _mm256_sub_ps (a, b); }
static SIMD_INLINE vf vf_mul (vf a, vf b) { return _mm256_mul_ps (a, b); }
static SIMD_INLINE vf vf_min (vf a, vf b) { return _mm256_min_ps (a, b); }
static SIMD_INLINE vf vf_max (vf a, vf b) { return _mm256_max_ps (a, b); }
/* where a > 0: then, else otherwise */
static SIMD_INLINE vf
vf_select_gt0 (vf a, vf then, vf otherwise)
{
  return _mm256_blendv_ps (otherwise, then, _mm256_cmp_ps (a, _mm256_setzero_ps (), _CMP_GT_OQ));
}
/* where the integer k is 0: then, else otherwise */
static SIMD_INLINE vf
vf_select_int0 (vi k, vf then, vf otherwise)
{
  return _mm256_blendv_ps (otherwise, then,
                           _mm256_castsi256_ps (_mm256_cmpeq_epi32 (k, _mm256_setzero_si256 ())));
}
static SIMD_INLINE vi vf_to_int (vf v) { return _mm256_cvtps_epi32 (v); }
/* 2^k as a float, for small integers k */
static SIMD_INLINE vf
vf_pow2_int (vi k)
{
  return _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_add_epi32 (k, _mm256_set1_epi32 (127)), 23));
}
/* the sum of the lanes, in the same pairwise order as _mm512_reduce_add_ps */
static SIMD_INLINE float
vf_reduce_add (vf v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}
#else
static SIMD_INLINE vf vf_zero (void) { return _mm512_setzero_ps (); }
static SIMD_INLINE vf vf_load (const float *p) { return _mm512_loadu_ps (p); }
static SIMD_INLINE void vf_store (float *p, vf v) { _mm512_storeu_ps (p, v); }
static SIMD_INLINE vf vf_set1 (float x) { return _mm512_set1_ps (x); }
static SIMD_INLINE vf vf_fmadd (vf a, vf b, vf c) { return _mm512_fmadd_ps (a, b, c); }
static SIMD_INLINE vf vf_add (vf a, vf b) { return _mm512_add_ps (a, b); }
static SIMD_INLINE vf vf_sub (vf a, vf b) { return _mm512_sub_ps (a, b); }
static SIMD_INLINE vf vf_mul (vf a, vf b) { return _mm512_mul_ps (a, b); }
static SIMD_INLINE vf vf_min (vf a, vf b) { return _mm512_min_ps (a, b); }
static SIMD_INLINE vf vf_max (vf a, vf b) { return _mm512_max_ps (a, b); }
static SIMD_INLINE vf
vf_select_gt0 (vf a, vf then, vf otherwise)
{
  return _mm512_mask_blend_ps (_mm512_cmp_ps_mask (a, _mm512_setzero_ps (), _CMP_GT_OQ), otherwise,
                               then);
}
static SIMD_INLINE vf
vf_select_int0 (vi k, vf then, vf otherwise)
{
  return _mm512_mask_blend_ps (_mm512_cmpeq_epi32_mask (k, _mm512_setzero_si512 ()), otherwise,
                               then);
}
static SIMD_INLINE vi vf_to_int (vf v) { return _mm512_cvtps_epi32 (v); }
static SIMD_INLINE vf
vf_pow2_int (vi k)
{
  return _mm512_castsi512_ps (_mm512_slli_epi32 (_mm512_add_epi32 (k, _mm512_set1_epi32 (127)), 23));
}
static SIMD_INLINE float vf_reduce_add (vf v) { return _mm512_reduce_add_ps (v); }
#endif

/* ELU (α = 1) of a vector: the vector form of layers.c's expm1_neg (range
 * reduction x = k·ln2 + r, a degree-6 polynomial for e^r − 1), the same
 * operations in the same order, so fused and separate ELU agree to rounding. */
static SIMD_INLINE vf
elu_vec (vf v)
{
  const vf x = vf_min (vf_max (v, vf_set1 (-87.0f)), vf_zero ());
  const vf magic = vf_set1 (12582912.0f);
  vf kf = vf_sub (vf_add (vf_mul (x, vf_set1 (1.44269504f)), magic), magic);
  vf r = vf_sub (vf_sub (x, vf_mul (kf, vf_set1 (0.693145752f))),
                 vf_mul (kf, vf_set1 (1.42860677e-6f)));
  static const float c[] = { 1.98400865e-4f, 1.38889349e-3f, 8.33336753e-3f, 4.16666530e-2f,
                             1.66666672e-1f, 0.5f, 1.0f };
  vf p = vf_set1 (c[0]);
  for (int i = 1; i < 7; i++)
    p = vf_add (vf_set1 (c[i]), vf_mul (r, p));
  p = vf_mul (r, p);
  const vi ki = vf_to_int (kf);
  const vf one = vf_set1 (1.0f);
  vf e = vf_sub (vf_mul (vf_add (p, one), vf_pow2_int (ki)), one);
  e = vf_select_int0 (ki, p, e);
  return vf_select_gt0 (v, v, e);
}

/* ELU'(pre-activation) from the ELU output a: 1 where a > 0, else a + 1. */
static SIMD_INLINE vf
elu_grad_vec (vf a)
{
  const vf one = vf_set1 (1.0f);
  return vf_select_gt0 (a, one, vf_add (a, one));
}

#else
#define IODINE_X86 0
#endif

/* The register blocks of the kernels that keep R × nv accumulators (R rows
 * of VW·nv-float vectors, nv ≤ 4), nv loaded vectors and one broadcast in
 * the SIMD_REGS vector registers: the largest R for nv. */
static inline int
simd_max_block (int nv)
{
#ifdef IODINE_SIMD_AVX2
  static const int rmax[5] = { 0, 12, 6, 4, 2 };
#else
  static const int rmax[5] = { 0, 12, 12, 8, 6 };
#endif
  return rmax[nv];
}

/* How many of nv channel vectors a register block takes at a time: all of
 * them where the block can still be 6 items long (AVX-512: up to 4 vectors),
 * else the largest divisor of nv that allows it. On AVX2, 32 channels are
 * done as two halves in blocks of 6 instead of one in blocks of 2: the
 * weights are loaded a third as often (measured on the Tetrominoes decoder,
 * Zen 3: the Winograd forward pass 20 % faster, the backward 10 %). The
 * kernels are compiled for groups up to SIMD_MAX_GROUP only. */
static inline int
simd_channel_group (int nv)
{
  for (int g = nv < SIMD_MAX_GROUP ? nv : SIMD_MAX_GROUP; g > 1; g--)
    if (nv % g == 0 && simd_max_block (g) >= 6)
      return g;
  return 1;
}

/* The block width for rows of n items (pixels, tiles): the fewest item
 * computations (the last block of a row overlaps the one before it), then
 * the widest block. */
static inline int
simd_choose_block (int n, int nv)
{
  int best = 1;
  double best_cost = 1e30;
  for (int r = 1; r <= simd_max_block (nv) && r <= n; r++)
    {
      int blocks = (n + r - 1) / r;
      /* a block costs its FMAs plus the vector loads of a smaller one */
      double cost = blocks * ((double) r * nv + 0.5 * nv + 1.0);
      if (cost <= best_cost)
        {
          best_cost = cost;
          best = r;
        }
    }
  return best;
}

#endif
