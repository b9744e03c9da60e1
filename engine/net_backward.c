/* Backpropagation through time of the training loss mean_b Σ_t (t/T)·L_t,
 * through the decoder, the refinement network, the LSTM state, λ and the
 * samples, with the spec's stop-gradient inputs held constant. */
#include "net.h"

#include "layers.h"
#include "mixture.h"
#include "net_private.h"

#include <string.h>

/* Backward of one refinement step t: from ∂/∂λ^(t+1) (net->d_lambda on
 * entry) to ∂/∂λ^(t) through the flat vector (added to d_lam), and to the
 * decoder outputs of iteration t through the non-SG spatial inputs
 * (added to net->d_out). Carries the LSTM state gradient in d_h/d_c. */
static void
refine_backward (IodineNet *net, const float *params, float *grads, int t, float *d_lam)
{
  const ParamLayout *L = net->layout;
  const IodineConfig *c = net->cfg;
  const int N = net->N, M = net->M, P = net->P, F = L->flat;
  const int s = t;

  /* update: λ^(t+1) = λ^(t) + Linear(h) */
  float *d_h_in = net->d_small_a;
  memset (d_h_in, 0, sizeof (float) * N * L->upd_in);
  const size_t hs = (size_t) N * (net->Hl > 0 ? net->Hl : 1);
  const float *h = net->Hl > 0 ? net->lstm_h + (t + 1) * hs : net_flat (net, s);
  linear_backward (d_h_in, PARAM (L, grads, L->upd_w), PARAM (L, grads, L->upd_b),
                   net->d_lambda, h, PARAM (L, params, L->upd_w), N, L->upd_in, 2 * M);

  float *d_flat = net->d_small_b;
  memset (d_flat, 0, sizeof (float) * N * F);
  if (net->Hl > 0)
    {
      for (size_t i = 0; i < hs; i++)
        net->d_h[i] += d_h_in[i];
      memset (net->d_h2, 0, sizeof (float) * hs);
      memset (net->d_c2, 0, sizeof (float) * hs);
      lstm_backward (d_flat, net->d_h2, net->d_c2, PARAM (L, grads, L->lstm_ih),
                     PARAM (L, grads, L->lstm_hh), PARAM (L, grads, L->lstm_b), net->d_h,
                     net->d_c, net->lstm_gates + (size_t) t * 4 * hs,
                     net->lstm_c + (t + 1) * hs, net->lstm_c + t * hs, net_flat (net, s),
                     net->lstm_h + t * hs, PARAM (L, params, L->lstm_ih),
                     PARAM (L, params, L->lstm_hh), net->lstm_scratch, N, F, net->Hl);
      float *tmp = net->d_h;
      net->d_h = net->d_h2;
      net->d_h2 = tmp;
      tmp = net->d_c;
      net->d_c = net->d_c2;
      net->d_c2 = tmp;
    }
  else
    memcpy (d_flat, d_h_in, sizeof (float) * N * F);

  /* flat = [MLP output, LN(∂L/∂λ) (SG; only its affine learns), λ] */
  const int out = c->mlp_sizes[c->mlp_layers - 1];
  for (int n = 0; n < N; n++)
    for (int i = 0; i < 2 * M; i++)
      d_lam[(size_t) n * 2 * M + i] += d_flat[(size_t) n * F + out + 2 * M + i];
  layernorm_affine_backward (PARAM (L, grads, L->norm_w[NORM_GRAD_LAMBDA]),
                             PARAM (L, grads, L->norm_b[NORM_GRAD_LAMBDA]), d_flat + out, F,
                             net_glam_xhat (net, s), N, 1, 2 * M);

  /* MLP, last layer first; d_y holds ∂/∂(layer output) */
  float *d_y = net->d_small_a;
  for (int n = 0; n < N; n++)
    memcpy (d_y + (size_t) n * out, d_flat + (size_t) n * F, sizeof (float) * out);
  float *d_x = net->d_small_b;
  for (int i = c->mlp_layers - 1; i >= 0; i--)
    {
      int in = i == 0 ? net->C_ref : c->mlp_sizes[i - 1];
      const float *x = i == 0 ? net_pooled (net, s) : net_mlp_act (net, s, i - 1);
      memset (d_x, 0, sizeof (float) * N * in);
      linear_backward (d_x, PARAM (L, grads, L->mlp_w[i]), PARAM (L, grads, L->mlp_b[i]), d_y,
                       x, PARAM (L, params, L->mlp_w[i]), N, in, c->mlp_sizes[i]);
      if (i > 0)
        {
          /* ELU between layers: d_y ← d_x · elu'(act) */
          memset (d_y, 0, sizeof (float) * N * in);
          elu_backward (d_y, d_x, net_mlp_act (net, s, i - 1), (size_t) N * in);
        }
    }
  /* d_x = ∂/∂pooled */
  const ConvShape *last = &net->enc[net->L_ref - 1];
  float *d_act = net->d_act_a, *d_pre = net->d_act_b;
  size_t n_last = (size_t) N * last->ho * last->wo * net->C_ref;
  memset (d_act, 0, sizeof (float) * n_last);
  meanpool_backward (d_act, d_x, N, last->ho * last->wo, net->C_ref);
  for (int l = net->L_ref - 1; l >= 0; l--)
    {
      const ConvShape *sh = &net->enc[l];
      size_t n_out = (size_t) N * sh->ho * sh->wo * net->C_ref;
      memset (d_pre, 0, sizeof (float) * n_out);
      elu_backward (d_pre, d_act, net_enc_act (net, s, l), n_out);
      const float *x = l == 0 ? net_ref_in (net, s) : net_enc_act (net, s, l - 1);
      float *dx = l == 0 ? net->d_in : d_act;
      memset (dx, 0, sizeof (float) * N * sh->h * sh->w * sh->cin);
      conv_backward (dx, PARAM (L, grads, L->ref_w[l]), PARAM (L, grads, L->ref_b[l]), d_pre, x,
                     PARAM (L, params, L->ref_w[l]), sh, net->conv_work);
    }

  /* the spatial input: affine of the SG groups, and the differentiable
   * channels back to the decoder outputs */
  const int Cin = net->Cin;
  static const int first[4] = { 9, 12, 13, 14 }, count[4] = { 3, 1, 1, 1 };
  static const int group[4] = { NORM_GRAD_MEANS, NORM_GRAD_LOGITS, NORM_LOGP, NORM_LOO };
  const float *xhat = net_ref_xhat (net, s);
  for (int g = 0; g < 4; g++)
    {
      layernorm_affine_backward (PARAM (L, grads, L->norm_w[group[g]]),
                                 PARAM (L, grads, L->norm_b[group[g]]), net->d_in + first[g],
                                 Cin, xhat, N, P, count[g]);
      xhat += (size_t) N * P * count[g];
    }
  for (size_t np = 0; np < (size_t) N * P; np++)
    {
      const float *g = net->d_in + np * Cin;
      float *d = net->d_out + np * 4;
      d[0] += g[6];
      d[1] += g[3];
      d[2] += g[4];
      d[3] += g[5];
    }
  net_mixture_inputs_backward (net, s);
}

void
iodine_net_backward (IodineNet *net, const float *params, float *grads)
{
  g_return_if_fail (net->train);
  const ParamLayout *L = net->layout;
  const int N = net->N, M = net->M, P = net->P, B = net->B, T = net->T;
  float *d_lam = g_new0 (float, (size_t) N * 2 * M);
  memset (net->d_lambda, 0, sizeof (float) * N * 2 * M);
  if (net->Hl > 0)
    {
      memset (net->d_h, 0, sizeof (float) * N * net->Hl);
      memset (net->d_c, 0, sizeof (float) * N * net->Hl);
    }
  for (int t = T; t >= 0; t--)
    {
      const int s = t;
      memset (net->d_out, 0, sizeof (float) * N * P * 4);
      /* ∂/∂λ^(t): the residual path first */
      memcpy (d_lam, net->d_lambda, sizeof (float) * N * 2 * M);
      if (t < T)
        refine_backward (net, params, grads, t, d_lam);
      else
        memset (d_lam, 0, sizeof (float) * N * 2 * M);

      const float w = (float) t / T / B;
      if (w > 0.0f)
        net_mixture_loss_backward (net, s, w * net->nll_weight);
      float *dz = net->d_small_a;
      net_decoder_backward (net, params, grads, s, dz);

      const float *lam = net_lambda (net, t);
      const float *eps = net->eps + (size_t) t * N * M;
      for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
          {
            const float *ln = lam + (size_t) n * 2 * M;
            float *g = d_lam + (size_t) n * 2 * M;
            float sp = softplusf (ln[M + m]), sig = sqrtf (sp), dsp = sigmoidf (ln[M + m]);
            float d = dz[(size_t) n * M + m];
            g[m] += d + w * ln[m];
            g[M + m] += d * eps[(size_t) n * M + m] * dsp / (2.0f * sig)
                        + w * 0.5f * (1.0f - 1.0f / sp) * dsp;
          }
      memcpy (net->d_lambda, d_lam, sizeof (float) * N * 2 * M);
    }
  float *d_init = PARAM (L, grads, L->init_lambda);
  for (int n = 0; n < N; n++)
    for (int i = 0; i < 2 * M; i++)
      d_init[i] += net->d_lambda[(size_t) n * 2 * M + i];
  g_free (d_lam);
}
