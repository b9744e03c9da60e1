/* The model's small layers: one plain forward and one backward function
 * each, over flat float arrays with sizes passed explicitly (llm.c style).
 * Backward functions ACCUMULATE (+=) into input and parameter gradients, so
 * that weights shared by all slots and iterations, and residual paths, sum
 * their gradients for free. A NULL gradient pointer skips that gradient. */
#ifndef IODINE_LAYERS_H
#define IODINE_LAYERS_H

#include <stddef.h>

/* ELU (α = 1), in place allowed. */
void elu_forward (float *y, const float *x, size_t n);
/* dx += dy · elu'(x), computed from the output y (y > 0: 1, else y + 1). */
void elu_backward (float *dx, const float *dy, const float *y, size_t n);
/* d ← d · elu'(x) in place, from the output y. */
void elu_grad_scale (float *d, const float *y, size_t n);

/* y[n, out] = x[n, in] · Wᵀ + b, W [out, in] (PyTorch layout). */
void linear_forward (float *y, const float *x, const float *w, const float *b,
                     int n, int in, int out);
void linear_backward (float *dx, float *dw, float *db, const float *dy,
                      const float *x, const float *w, int n, int in, int out);

/* LSTM cell over n rows; gates i, f, g, o; w_ih [4H, in], w_hh [4H, H],
 * one bias [4H]. gates [n, 4H] keeps the activated gates for backward;
 * c_new, h_new [n, H]. */
void lstm_forward (float *h_new, float *c_new, float *gates, const float *x,
                   const float *h_prev, const float *c_prev, const float *w_ih,
                   const float *w_hh, const float *b, int n, int in, int hidden);
/* dh, dc: gradients w.r.t. h_new and c_new (dc may be NULL: zero).
 * Produces dx, dh_prev, dc_prev (all +=) and parameter gradients.
 * scratch: [n, 4H]. */
void lstm_backward (float *dx, float *dh_prev, float *dc_prev, float *dw_ih, float *dw_hh,
                    float *db, const float *dh, const float *dc, const float *gates,
                    const float *c_new, const float *c_prev, const float *x,
                    const float *h_prev, const float *w_ih, const float *w_hh,
                    float *scratch, int n, int in, int hidden);

/* Layer norm of groups of values, as the spec defines it: for each of n
 * items, the group is `count` positions × `ch` channels, taken from an
 * interleaved array with stride `stride` floats between positions (NHWC:
 * stride = total channels, x points at the group's first channel). Mean and
 * (biased) variance over all count·ch values, ε, then y = x̂·γ_c + β_c per
 * channel. xhat [n, count, ch] is saved for backward (may be NULL). */
void layernorm_forward (float *y, int y_stride, float *xhat, const float *x, int x_stride,
                        const float *gamma, const float *beta, int n, int count, int ch,
                        float eps);
/* Only the affine parameters' gradients: the spec's normalised inputs are
 * stop-gradient, so no gradient flows into x. */
void layernorm_affine_backward (float *dgamma, float *dbeta, const float *dy, int dy_stride,
                                const float *xhat, int n, int count, int ch);

/* Mean over `count` positions: y[n, ch]. */
void meanpool_forward (float *y, const float *x, int n, int count, int ch);
void meanpool_backward (float *dx, const float *dy, int n, int count, int ch);

float softplusf (float x);
float sigmoidf (float x);

#endif
