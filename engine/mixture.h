/* The pixel likelihood of spec §1 for one image: a mixture over K slots of
 * logistic densities with fixed scale, weighted by softmax masks. */
#ifndef IODINE_MIXTURE_H
#define IODINE_MIXTURE_H

#include <math.h>

/* dec_out [K, P, 4] (mask logit, R, G, B), x [P, 3].
 * Writes logp [P] = log p(x_i|z), masks [K, P], resp [K, P] (the posterior
 * responsibility of slot k for pixel i, softmax_k(log m + ll)), post [K, P]
 * (the mask posterior input, softmax_k(ll)), and loo [K, P] (leave-one-out,
 * may be NULL). Returns the NLL −Σ_i log p(x_i|z). */
double mixture_forward (float *logp, float *masks, float *resp, float *post, float *loo,
                        const float *x, const float *dec_out, int K, int P, float scale);

/* d_out [K, P, 4] += w · ∂(−Σ_i log p)/∂(logit, means). With w = 1 and
 * d_out zeroed this gives the SG inputs ∂L/∂m̂ and ∂L/∂μ^x. */
void mixture_loss_backward (float *d_out, const float *x, const float *dec_out,
                            const float *masks, const float *resp, float w, int K, int P,
                            float scale);

/* Backward of the refinement inputs that are functions of the decoder output
 * and not stop-gradient: mask m (dm) and mask posterior (dpost), each read
 * with a stride (they are channels of the refinement input gradient).
 * d_out [K, P, 4] += their contribution. */
void mixture_inputs_backward (float *d_out, const float *dm, const float *dpost, int stride,
                              const float *x, const float *dec_out, const float *masks,
                              const float *post, int K, int P, float scale);

/* ∂ll/∂μ for one channel: tanh(u/2)/s with u = (x − μ)/s. */
static inline float
logistic_dmean (float x, float mu, float scale)
{
  return tanhf (0.5f * (x - mu) / scale) / scale;
}

#endif
