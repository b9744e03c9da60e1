/* What the AVX-512 convolution kernels (conv_direct.c, conv_winograd.c,
 * conv_winograd_dw.c) share: the target attributes, the register blocking
 * of their broadcast-FMA kernels and the ELU of their fused epilogues. */
#ifndef IODINE_AVX512_H
#define IODINE_AVX512_H

#if defined(__x86_64__) && defined(__GNUC__)
#define IODINE_X86 1
#include <immintrin.h>
#define AVX512 __attribute__ ((target ("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define AVX512_INLINE                                                                           \
  __attribute__ ((target ("avx512f,avx512vl,avx512bw,avx512dq,fma"), always_inline)) inline
#else
#define IODINE_X86 0
#endif

/* The register blocks of the kernels that keep R × nv accumulators (R rows
 * of 16·nv-float vectors, nv ≤ 4), nv loaded vectors and one broadcast in
 * the 32 zmm registers: the largest R for nv. */
static inline int
avx512_max_block (int nv)
{
  static const int rmax[5] = { 0, 12, 12, 8, 6 };
  return rmax[nv];
}

/* The block width for rows of n items (pixels, tiles): the fewest item
 * computations (the last block of a row overlaps the one before it), then
 * the widest block. */
static inline int
avx512_choose_block (int n, int nv)
{
  int best = 1;
  double best_cost = 1e30;
  for (int r = 1; r <= avx512_max_block (nv) && r <= n; r++)
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

#if IODINE_X86
/* ELU (α = 1) of 16 values: the vector form of layers.c's expm1_neg (range
 * reduction x = k·ln2 + r, a degree-6 polynomial for e^r − 1), the same
 * operations in the same order, so fused and separate ELU agree to rounding. */
static AVX512_INLINE __m512
elu_vec (__m512 v)
{
  const __m512 x = _mm512_min_ps (_mm512_max_ps (v, _mm512_set1_ps (-87.0f)), _mm512_setzero_ps ());
  const __m512 magic = _mm512_set1_ps (12582912.0f);
  __m512 kf = _mm512_sub_ps (_mm512_add_ps (_mm512_mul_ps (x, _mm512_set1_ps (1.44269504f)), magic),
                             magic);
  __m512 r = _mm512_sub_ps (_mm512_sub_ps (x, _mm512_mul_ps (kf, _mm512_set1_ps (0.693145752f))),
                            _mm512_mul_ps (kf, _mm512_set1_ps (1.42860677e-6f)));
  static const float c[] = { 1.98400865e-4f, 1.38889349e-3f, 8.33336753e-3f, 4.16666530e-2f,
                             1.66666672e-1f, 0.5f, 1.0f };
  __m512 p = _mm512_set1_ps (c[0]);
  for (int i = 1; i < 7; i++)
    p = _mm512_add_ps (_mm512_set1_ps (c[i]), _mm512_mul_ps (r, p));
  p = _mm512_mul_ps (r, p);
  const __m512i ki = _mm512_cvtps_epi32 (kf);
  const __m512 two_k = _mm512_castsi512_ps (
      _mm512_slli_epi32 (_mm512_add_epi32 (ki, _mm512_set1_epi32 (127)), 23));
  const __m512 one = _mm512_set1_ps (1.0f);
  __m512 e = _mm512_sub_ps (_mm512_mul_ps (_mm512_add_ps (p, one), two_k), one);
  e = _mm512_mask_blend_ps (_mm512_cmpeq_epi32_mask (ki, _mm512_setzero_si512 ()), e, p);
  return _mm512_mask_blend_ps (_mm512_cmp_ps_mask (v, _mm512_setzero_ps (), _CMP_GT_OQ), e, v);
}

/* ELU'(pre-activation) from the ELU output a: 1 where a > 0, else a + 1. */
static AVX512_INLINE __m512
elu_grad_vec (__m512 a)
{
  const __m512 one = _mm512_set1_ps (1.0f);
  return _mm512_mask_blend_ps (_mm512_cmp_ps_mask (a, _mm512_setzero_ps (), _CMP_GT_OQ),
                               _mm512_add_ps (a, one), one);
}

#endif

#endif
