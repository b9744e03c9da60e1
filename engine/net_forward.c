/* The forward pass: T refinement iterations (spec §3). */
#include "net.h"

#include "layers.h"
#include "mixture.h"
#include "net_private.h"
#include "parallel.h"
#include "conv_broadcast.h"

#include <math.h>
#include <string.h>

static void
decoder_forward (IodineNet *net, const float *params, int s)
{
  const ParamLayout *L = net->layout;
  for (int l = 0; l <= net->L_dec; l++)
    {
      float *out = l == net->L_dec ? net_dec_out (net, s) : net_dec_act (net, s, l);
      if (l == 0)
        {
          conv_broadcast_forward (out, net_z (net, s), net->dec_coords,
                                  PARAM (L, params, L->dec_w[0]), PARAM (L, params, L->dec_b[0]),
                                  &net->dec[0], net->conv_work);
          if (net->L_dec > 0)
            elu_forward (out, out, (size_t) net->N * net->P * net->C_dec);
        }
      else if (l < net->L_dec)
        conv_forward_elu (out, net_dec_act (net, s, l - 1), PARAM (L, params, L->dec_w[l]),
                          PARAM (L, params, L->dec_b[l]), &net->dec[l], net->conv_work);
      else
        conv_forward (out, net_dec_act (net, s, l - 1), PARAM (L, params, L->dec_w[l]),
                      PARAM (L, params, L->dec_b[l]), &net->dec[l], net->conv_work);
    }
}

void
net_decoder_backward (IodineNet *net, const float *params, float *grads, int s, float *dz)
{
  const ParamLayout *L = net->layout;
  /* the gradient at layer l's pre-activation, alternating between two buffers */
  float *d_pre = net->d_out;
  for (int l = net->L_dec; l >= 1; l--)
    {
      float *d_in = d_pre == net->d_act_a ? net->d_act_b : net->d_act_a;
      conv_backward_elu (d_in, grads ? PARAM (L, grads, L->dec_w[l]) : NULL,
                         grads ? PARAM (L, grads, L->dec_b[l]) : NULL, d_pre,
                         net_dec_act (net, s, l - 1), PARAM (L, params, L->dec_w[l]),
                         &net->dec[l], net->conv_work);
      d_pre = d_in;
    }
  conv_broadcast_backward (dz, grads ? PARAM (L, grads, L->dec_w[0]) : NULL,
                           grads ? PARAM (L, grads, L->dec_b[0]) : NULL,
                           d_pre, net_z (net, s), net->dec_coords,
                           PARAM (L, params, L->dec_w[0]), &net->dec[0], net->conv_work);
}

/* ∂L_t/∂λ (per image, SG input of the refinement): through the sample and
 * the decoder, plus the KL term. Uses net->d_out = ∂L_t/∂(decoder output). */
static void
grad_lambda (IodineNet *net, const float *params, int t, int s)
{
  const int M = net->M;
  float *dz = net->d_small_a;
  net_decoder_backward (net, params, NULL, s, dz);
  const float *lam = net_lambda (net, t);
  const float *eps = net->eps + (size_t) t * net->N * M;
  for (int n = 0; n < net->N; n++)
    for (int m = 0; m < M; m++)
      {
        const float *ln = lam + (size_t) n * 2 * M;
        float *g = net->grad_lambda + (size_t) n * 2 * M;
        float sp = softplusf (ln[M + m]), sig = sqrtf (sp), dsp = sigmoidf (ln[M + m]);
        float d = dz[(size_t) n * M + m];
        g[m] = d + ln[m];
        g[M + m] = d * eps[(size_t) n * M + m] * dsp / (2.0f * sig)
                   + 0.5f * (1.0f - 1.0f / sp) * dsp;
      }
}

typedef struct {
  IodineNet *net;
  float *sg;
  int s;
} RefineInputJob;

/* Slot images [begin, end) of the refinement input: the spatial channels of
 * spec §2 in order, then each stop-gradient group normalised per image. */
static void
refine_input_images (int begin, int end, void *ctx)
{
  const RefineInputJob *j = ctx;
  IodineNet *net = j->net;
  float *sg = j->sg;
  const int s = j->s, P = net->P, K = net->K, Cin = net->Cin;
  const int nc = iodine_config_coord_channels (net->cfg);
  float *in = net_ref_in (net, s);
  const float *out = net_dec_out (net, s);
  const float *masks = net_masks (net, s), *post = net_post (net, s);
  for (int n = begin; n < end; n++)
    {
      int b = n / K;
      for (int p = 0; p < P; p++)
        {
          size_t np = (size_t) n * P + p;
          float *d = in + np * Cin;
          const float *o = out + np * 4;
          const float *g = net->d_out + np * 4;
          const float *px = net->image + ((size_t) b * P + p) * 3;
          d[0] = px[0];
          d[1] = px[1];
          d[2] = px[2];
          d[3] = o[1];
          d[4] = o[2];
          d[5] = o[3];
          d[6] = o[0];
          d[7] = masks[np];
          d[8] = post[np];
          if (net->sg_frozen)
            memcpy (d + 9, sg + np * 6, sizeof (float) * 6);
          else
            {
              d[9] = g[1];
              d[10] = g[2];
              d[11] = g[3];
              d[12] = g[0];
              d[13] = net->logp[(size_t) b * P + p];
              d[14] = net->loo[np];
              if (sg)
                memcpy (sg + np * 6, d + 9, sizeof (float) * 6);
            }
          const float *co = net->ref_coords + (size_t) p * nc;
          for (int c = 0; c < nc; c++)
            d[15 + c] = co[c];
        }
    }
  /* the stop-gradient channels, each group normalised per slot image */
  const ParamLayout *L = net->layout;
  static const int first[4] = { 9, 12, 13, 14 }, count[4] = { 3, 1, 1, 1 };
  static const int group[4] = { NORM_GRAD_MEANS, NORM_GRAD_LOGITS, NORM_LOGP, NORM_LOO };
  float *xhat = net_ref_xhat (net, s);
  const size_t at = (size_t) begin * P * Cin;
  for (int g = 0; g < 4; g++)
    {
      layernorm_forward (in + at + first[g], Cin, xhat + (size_t) begin * P * count[g],
                         in + at + first[g], Cin, PARAM (L, net->params, L->norm_w[group[g]]),
                         PARAM (L, net->params, L->norm_b[group[g]]), end - begin, P, count[g],
                         1e-5f);
      xhat += (size_t) net->N * P * count[g];
    }
}

static void
build_refine_input (IodineNet *net, int t, int s)
{
  RefineInputJob j = { net, net->train ? net->sg_raw + (size_t) t * net->N * net->P * 6 : NULL, s };
  iodine_parallel_for (net->N, refine_input_images, &j);
}

static void
refine_forward (IodineNet *net, const float *params, int t, int s)
{
  const ParamLayout *L = net->layout;
  const IodineConfig *c = net->cfg;
  const int N = net->N, M = net->M;
  const float *x = net_ref_in (net, s);
  for (int l = 0; l < net->L_ref; l++)
    {
      float *y = net_enc_act (net, s, l);
      conv_forward (y, x, PARAM (L, params, L->ref_w[l]), PARAM (L, params, L->ref_b[l]),
                    &net->enc[l], net->conv_work);
      size_t n = (size_t) N * net->enc[l].ho * net->enc[l].wo * net->C_ref;
      elu_forward (y, y, n);
      x = y;
    }
  const ConvShape *last = &net->enc[net->L_ref - 1];
  float *pooled = net_pooled (net, s);
  meanpool_forward (pooled, x, N, last->ho * last->wo, net->C_ref);
  x = pooled;
  int in = net->C_ref;
  for (int i = 0; i < c->mlp_layers; i++)
    {
      float *y = net_mlp_act (net, s, i);
      linear_forward (y, x, PARAM (L, params, L->mlp_w[i]), PARAM (L, params, L->mlp_b[i]), N,
                      in, c->mlp_sizes[i]);
      if (i + 1 < c->mlp_layers)
        elu_forward (y, y, (size_t) N * c->mlp_sizes[i]);
      x = y;
      in = c->mlp_sizes[i];
    }
  const int F = L->flat;
  float *flat = net_flat (net, s);
  const float *lam = net_lambda (net, t);
  for (int n = 0; n < N; n++)
    {
      memcpy (flat + (size_t) n * F, x + (size_t) n * in, sizeof (float) * in);
      memcpy (flat + (size_t) n * F + in + 2 * M, lam + (size_t) n * 2 * M,
              sizeof (float) * 2 * M);
    }
  layernorm_forward (flat + in, F, net_glam_xhat (net, s), net->grad_lambda, 2 * M,
                     PARAM (L, params, L->norm_w[NORM_GRAD_LAMBDA]),
                     PARAM (L, params, L->norm_b[NORM_GRAD_LAMBDA]), N, 1, 2 * M, 1e-5f);
  const float *h = flat;
  if (net->Hl > 0)
    {
      const size_t hs = (size_t) N * net->Hl;
      lstm_forward (net->lstm_h + (t + 1) * hs, net->lstm_c + (t + 1) * hs,
                    net->lstm_gates + (size_t) t * 4 * hs, flat, net->lstm_h + t * hs,
                    net->lstm_c + t * hs, PARAM (L, params, L->lstm_ih),
                    PARAM (L, params, L->lstm_hh), PARAM (L, params, L->lstm_b), N, F, net->Hl);
      h = net->lstm_h + (t + 1) * hs;
    }
  float *delta = net->d_small_a;
  linear_forward (delta, h, PARAM (L, params, L->upd_w), PARAM (L, params, L->upd_b), N,
                  L->upd_in, 2 * M);
  float *next = net_lambda (net, t + 1);
  for (size_t i = 0; i < (size_t) N * 2 * M; i++)
    next[i] = lam[i] + delta[i];
}

gboolean
iodine_net_forward (IodineNet *net, const float *params, const float *images, const float *eps,
                    IodineRng *rng, float *masks_per_iteration, IodineNetProgress progress,
                    gpointer progress_data, GError **error)
{
  const ParamLayout *L = net->layout;
  const int N = net->N, M = net->M, P = net->P, K = net->K, B = net->B, T = net->T;
  net->params = params;
  memcpy (net->image, images, sizeof (float) * B * P * 3);
  for (int n = 0; n < N; n++)
    memcpy (net->lambda + (size_t) n * 2 * M, PARAM (L, params, L->init_lambda),
            sizeof (float) * 2 * M);
  if (net->Hl > 0)
    {
      memset (net->lstm_h, 0, sizeof (float) * N * net->Hl);
      memset (net->lstm_c, 0, sizeof (float) * N * net->Hl);
    }
  for (int t = 0; t <= T; t++)
    {
      const int s = net->train ? t : 0;
      const float *lam = net_lambda (net, t);
      float *e = net->eps + (size_t) t * N * M;
      float *z = net_z (net, s);
      for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
          {
            size_t i = (size_t) n * M + m;
            e[i] = eps ? eps[(size_t) t * N * M + i] : rng ? (float) iodine_rng_normal (rng) : 0.0f;
            float sigma = sqrtf (softplusf (lam[(size_t) n * 2 * M + M + m]));
            z[i] = lam[(size_t) n * 2 * M + m] + sigma * e[i];
          }
      decoder_forward (net, params, s);

      double nll = 0.0, kl = 0.0;
      double *nll_img = net->loss_img + (size_t) t * B;
      net_mixture_forward (net, s, t < T, nll_img);
      for (int b = 0; b < B; b++)
        {
          double nll_b = nll_img[b];
          double kl_b = 0.0;
          for (int k = 0; k < K; k++)
            for (int m = 0; m < M; m++)
              {
                const float *ln = lam + ((size_t) b * K + k) * 2 * M;
                double sp = softplusf (ln[M + m]);
                kl_b += 0.5 * ((double) ln[m] * ln[m] + sp - 1.0 - log (sp));
              }
          net->loss_img[(size_t) t * B + b] = nll_b + kl_b;
          nll += nll_b;
          kl += kl_b;
        }
      net->nll[t] = nll / B;
      net->kl[t] = kl / B;
      net->loss[t] = (nll + kl) / B;
      if (!isfinite (net->loss[t]))
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_NONFINITE,
                       "the loss became %g at iteration %d (NLL %g, KL %g)", net->loss[t], t,
                       net->nll[t], net->kl[t]);
          return FALSE;
        }
      if (masks_per_iteration)
        memcpy (masks_per_iteration + (size_t) t * N * P, net_masks (net, s),
                sizeof (float) * N * P);
      if (progress && !progress (t, net->loss[t], progress_data))
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_CANCELLED, "cancelled at iteration %d",
                       t);
          return FALSE;
        }
      if (t == T)
        break;

      memset (net->d_out, 0, sizeof (float) * N * P * 4);
      net_mixture_loss_backward (net, s, 1.0f);
      float *glam = net->train ? net->sg_glam + (size_t) t * N * 2 * M : NULL;
      if (net->sg_frozen)
        memcpy (net->grad_lambda, glam, sizeof (float) * N * 2 * M);
      else
        {
          grad_lambda (net, params, t, s);
          if (glam)
            memcpy (glam, net->grad_lambda, sizeof (float) * N * 2 * M);
        }
      build_refine_input (net, t, s);
      refine_forward (net, params, t, s);
    }
  return TRUE;
}
