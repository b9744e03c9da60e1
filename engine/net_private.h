/* Accessors of an IodineNet's per-iteration buffers, shared by the forward
 * and backward passes. s: saved iteration (t in training, 0 in inference). */
#ifndef IODINE_NET_PRIVATE_H
#define IODINE_NET_PRIVATE_H

#include "net.h"

static inline float *
net_lambda (IodineNet *n, int t)
{
  return n->lambda + (size_t) t * n->N * 2 * n->M;
}
static inline float *
net_z (IodineNet *n, int s)
{
  return n->z + (size_t) s * n->N * n->M;
}
static inline float *
net_dec_act (IodineNet *n, int s, int l)
{
  return n->dec_act + ((size_t) s * n->L_dec + l) * n->N * n->P * n->C_dec;
}
static inline float *
net_dec_out (IodineNet *n, int s)
{
  return n->dec_out + (size_t) s * n->N * n->P * 4;
}
static inline float *
net_masks (IodineNet *n, int s)
{
  return n->masks + (size_t) s * n->N * n->P;
}
static inline float *
net_resp (IodineNet *n, int s)
{
  return n->resp + (size_t) s * n->N * n->P;
}
static inline float *
net_post (IodineNet *n, int s)
{
  return n->post + (size_t) s * n->N * n->P;
}
static inline float *
net_ref_in (IodineNet *n, int s)
{
  return n->ref_in + (size_t) s * n->N * n->P * n->Cin;
}
static inline float *
net_ref_xhat (IodineNet *n, int s)
{
  return n->ref_xhat + (size_t) s * n->N * n->P * 6;
}
static inline float *
net_enc_act (IodineNet *n, int s, int l)
{
  return n->enc_act + (size_t) s * n->enc_size + n->enc_off[l];
}
static inline float *
net_pooled (IodineNet *n, int s)
{
  return n->pooled + (size_t) s * n->N * n->C_ref;
}
static inline float *
net_mlp_act (IodineNet *n, int s, int i)
{
  return n->mlp_act + (size_t) s * n->mlp_size + n->mlp_off[i];
}
static inline float *
net_flat (IodineNet *n, int s)
{
  return n->flat + (size_t) s * n->N * n->layout->flat;
}
static inline float *
net_glam_xhat (IodineNet *n, int s)
{
  return n->glam_xhat + (size_t) s * n->N * 2 * n->M;
}

/* The likelihood of every image of the batch (mixture.h), the images split
 * over the engine's threads: forward (per-image NLL into nll_per_image),
 * d_out += w·∂(−log p)/∂(decoder output), and d_out += the backward of the
 * mask and mask-posterior channels of net->d_in. */
void net_mixture_forward (IodineNet *net, int s, gboolean with_loo, double *nll_per_image);
void net_mixture_loss_backward (IodineNet *net, int s, float w);
void net_mixture_inputs_backward (IodineNet *net, int s);

/* Backpropagates net->d_out through the decoder of saved iteration s:
 * parameter gradients into grads (NULL: none), ∂/∂z into dz [N, M]. */
void net_decoder_backward (IodineNet *net, const float *params, float *grads, int s, float *dz);

#endif
