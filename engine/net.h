/* The IODINE network unrolled over T iterations for a batch of B images and
 * K slots (N = B·K slot rows), with every buffer planned once when the net
 * is created (llm.c style): inference keeps one iteration's activations and
 * overwrites them; training keeps every iteration's for backpropagation
 * through time.
 *
 * Activations are NHWC: a slot's maps are [P, C] with P = H·W positions. */
#ifndef IODINE_NET_H
#define IODINE_NET_H

#include "conv.h"
#include "params.h"
#include "rng.h"

typedef struct {
  const IodineConfig *cfg;
  const ParamLayout *layout;
  int B, K, T, H, W;
  int N, P, M, C_dec, C_ref, Cin, L_dec, L_ref, Hl;
  const float *params;        /* of the running forward pass */
  /* Weight of the NLL term in the training loss Σ_t (t/T)·(w·NLL_t + KL_t):
   * 1 for the spec's ELBO, GECO's λ otherwise. The refinement's inputs
   * (∂L_t/∂…) always use the plain L_t. */
  float nll_weight;
  gboolean train;             /* keep every iteration's activations */
  int nsave;                  /* T + 1 in training, 1 in inference */

  ConvShape dec[IODINE_MAX_CONVS + 1];
  ConvShape enc[IODINE_MAX_CONVS];

  /* constants of the run */
  float *image;               /* [B, P, 3] */
  float *dec_coords;          /* [P, 2]: y, x */
  float *ref_coords;          /* [P, nc] */

  /* kept for every iteration t = 0..T */
  float *lambda;              /* [T+1][N, 2M] */
  float *eps;                 /* [T+1][N, M] */
  float *lstm_h, *lstm_c;     /* [T+1][N, Hl]: the state before iteration t */
  float *lstm_gates;          /* [T][N, 4Hl] */
  double *loss, *nll, *kl;    /* [T+1], batch means */
  double *loss_img;           /* [T+1][B] */

  /* kept per saved iteration s (s = t in training, 0 in inference) */
  float *z;                   /* [nsave][N, M] */
  float *dec_act;             /* [nsave][L_dec][N, P, C_dec], after ELU */
  float *dec_out;             /* [nsave][N, P, 4]: logit, R, G, B */
  float *masks;               /* [nsave][N, P] */
  float *resp;                /* [nsave][N, P] responsibilities */
  float *post;                /* [nsave][N, P] mask posterior softmax_k(ll) */
  float *ref_in;              /* [nsave][N, P, Cin] */
  float *ref_xhat;            /* [nsave][N, P, 6] normalised SG channels */
  float *enc_act;             /* [nsave][Σ_l N·P_l·C_ref], after ELU */
  size_t enc_off[IODINE_MAX_CONVS];
  size_t enc_size;
  float *pooled;              /* [nsave][N, C_ref] */
  float *mlp_act;             /* [nsave][Σ_l N·size_l] */
  size_t mlp_off[IODINE_MAX_MLP];
  size_t mlp_size;
  float *flat;                /* [nsave][N, F] */
  float *glam_xhat;           /* [nsave][N, 2M] */

  /* the stop-gradient inputs of every iteration, in training: raw
   * [T][N, P, 6] (∂L/∂μ^x, ∂L/∂m̂, log p, leave-one-out) and [T][N, 2M]
   * (∂L/∂λ). With sg_frozen set, a forward pass reuses them instead of
   * recomputing them, which makes it the function whose derivative
   * iodine_net_backward computes (for finite-difference checks). */
  float *sg_raw, *sg_glam;
  gboolean sg_frozen;

  /* scratch */
  float *conv_work;
  float *logp;                /* [B, P] */
  float *loo;                 /* [N, P] */
  float *d_out;               /* [N, P, 4] */
  float *d_act_a, *d_act_b;   /* [N, P, max(C_dec, C_ref)] */
  float *d_in;                /* [N, P, max(M+2, Cin)] */
  float *grad_lambda;         /* [N, 2M] ∂L_t/∂λ (SG input) */
  float *d_lambda;            /* [N, 2M] carried backward */
  float *d_small_a, *d_small_b; /* [N, max small width] */
  float *d_h, *d_c, *d_h2, *d_c2; /* [N, Hl] */
  float *lstm_scratch;        /* [N, 4Hl] */
  size_t small_width;
} IodineNet;

IodineNet *iodine_net_new (const IodineConfig *cfg, const ParamLayout *layout, int batch,
                           int slots, int iterations, int height, int width, gboolean train,
                           GError **error);
void iodine_net_free (IodineNet *net);
/* Bytes the net would allocate. */
size_t iodine_net_bytes (const IodineConfig *cfg, const ParamLayout *layout, int batch,
                         int slots, int iterations, int height, int width, gboolean train);

/* Called after every iteration t with the batch-mean L_t; FALSE cancels. */
typedef gboolean (*IodineNetProgress) (int t, double loss, gpointer data);

/* Runs t = 0..T on images [B, H, W, 3]. Noise: eps [T+1, B, K, M] if given;
 * otherwise from rng if not NULL; otherwise ε = 0 (deterministic).
 * masks_per_iteration [T+1, B·K, P] (may be NULL) receives m at every t.
 * Returns FALSE if cancelled or on a non-finite loss (error set). */
gboolean iodine_net_forward (IodineNet *net, const float *params, const float *images,
                             const float *eps, IodineRng *rng, float *masks_per_iteration,
                             IodineNetProgress progress, gpointer progress_data,
                             GError **error);

/* Accumulates into grads (same layout as params) the gradient of the
 * training loss mean_b Σ_t (t/T)·L_t; needs a forward with train = TRUE. */
void iodine_net_backward (IodineNet *net, const float *params, float *grads);

/* The training loss of the last forward: Σ_t (t/T)·(nll_weight·nll[t] + kl[t]). */
double iodine_net_train_loss (const IodineNet *net);


#endif
