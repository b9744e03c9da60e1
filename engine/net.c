/* Planning and allocation of every buffer of an IodineNet, once per run. */
#include "net.h"

#include "conv_broadcast.h"
#include "mixture.h"
#include "net_private.h"
#include "parallel.h"

#include <math.h>
#include <string.h>

typedef struct {
  size_t floats;              /* running total, for iodine_net_bytes */
  gboolean dry;               /* only count */
  gboolean failed;
} Planner;

static float *
plan (Planner *pl, size_t n)
{
  n = (n + 15) & ~(size_t) 15;
  pl->floats += n;
  if (pl->dry || pl->failed || n == 0)
    return NULL;
  float *p = g_try_malloc0 (n * sizeof (float));
  if (!p)
    pl->failed = TRUE;
  return p;
}

static void
shapes (IodineNet *net)
{
  const IodineConfig *c = net->cfg;
  for (int l = 0; l <= net->L_dec; l++)
    conv_shape_init (&net->dec[l], net->N, net->H, net->W, l == 0 ? net->M + 2 : net->C_dec,
                     l == net->L_dec ? 4 : net->C_dec, c->dec_kernel, 1);
  int h = net->H, w = net->W;
  net->enc_size = 0;
  for (int l = 0; l < net->L_ref; l++)
    {
      conv_shape_init (&net->enc[l], net->N, h, w, l == 0 ? net->Cin : net->C_ref, net->C_ref,
                       c->ref_kernel, 2);
      net->enc_off[l] = net->enc_size;
      h = net->enc[l].ho;
      w = net->enc[l].wo;
      net->enc_size += (size_t) net->N * h * w * net->C_ref;
    }
  net->mlp_size = 0;
  for (int i = 0; i < c->mlp_layers; i++)
    {
      net->mlp_off[i] = net->mlp_size;
      net->mlp_size += (size_t) net->N * c->mlp_sizes[i];
    }
}

static void
allocate (IodineNet *net, Planner *pl)
{
  const size_t N = net->N, P = net->P, M = net->M, T = net->T, S = net->nsave;
  const ParamLayout *L = net->layout;
  net->image = plan (pl, (size_t) net->B * P * 3);
  net->dec_coords = plan (pl, P * 2);
  net->ref_coords = plan (pl, P * iodine_config_coord_channels (net->cfg));
  net->lambda = plan (pl, (T + 1) * N * 2 * M);
  net->eps = plan (pl, (T + 1) * N * M);
  size_t hl = net->Hl > 0 ? net->Hl : 1;
  net->lstm_h = plan (pl, (T + 1) * N * hl);
  net->lstm_c = plan (pl, (T + 1) * N * hl);
  net->lstm_gates = plan (pl, T * N * 4 * hl);
  net->z = plan (pl, S * N * M);
  net->dec_act = plan (pl, S * net->L_dec * N * P * net->C_dec);
  net->dec_out = plan (pl, S * N * P * 4);
  net->masks = plan (pl, S * N * P);
  net->resp = plan (pl, S * N * P);
  net->post = plan (pl, S * N * P);
  net->ref_in = plan (pl, S * N * P * net->Cin);
  net->ref_xhat = plan (pl, S * N * P * 6);
  net->enc_act = plan (pl, S * net->enc_size);
  net->pooled = plan (pl, S * N * net->C_ref);
  net->mlp_act = plan (pl, S * net->mlp_size);
  net->flat = plan (pl, S * N * L->flat);
  net->glam_xhat = plan (pl, S * N * 2 * M);
  net->sg_raw = plan (pl, net->train ? T * N * P * 6 : 0);
  net->sg_glam = plan (pl, net->train ? T * N * 2 * M : 0);

  size_t work = 0;
  work = conv_broadcast_workspace_floats (&net->dec[0]);
  for (int l = 1; l <= net->L_dec; l++)
    work = MAX (work, conv_workspace_floats (&net->dec[l]));
  for (int l = 0; l < net->L_ref; l++)
    work = MAX (work, conv_workspace_floats (&net->enc[l]));
  net->conv_work = plan (pl, work);
  net->logp = plan (pl, (size_t) net->B * P);
  net->loo = plan (pl, N * P);
  net->d_out = plan (pl, N * P * 4);
  size_t act = N * P * MAX (net->C_dec, net->C_ref);
  net->d_act_a = plan (pl, act);
  net->d_act_b = plan (pl, act);
  net->d_in = plan (pl, N * P * MAX (M + 2, (size_t) net->Cin));
  net->grad_lambda = plan (pl, N * 2 * M);
  net->d_lambda = plan (pl, N * 2 * M);
  size_t small = MAX ((size_t) L->flat, (size_t) net->C_ref);
  for (int i = 0; i < net->cfg->mlp_layers; i++)
    small = MAX (small, (size_t) net->cfg->mlp_sizes[i]);
  small = MAX (small, 4 * hl);
  net->small_width = small;
  net->d_small_a = plan (pl, N * small);
  net->d_small_b = plan (pl, N * small);
  net->d_h = plan (pl, N * hl);
  net->d_c = plan (pl, N * hl);
  net->d_h2 = plan (pl, N * hl);
  net->d_c2 = plan (pl, N * hl);
  net->lstm_scratch = plan (pl, N * 4 * hl);
}

static void
init_dims (IodineNet *net, const IodineConfig *cfg, const ParamLayout *layout, int batch,
           int slots, int iterations, int height, int width, gboolean train)
{
  memset (net, 0, sizeof *net);
  net->cfg = cfg;
  net->layout = layout;
  net->B = batch;
  net->K = slots;
  net->T = iterations;
  net->H = height;
  net->W = width;
  net->N = batch * slots;
  net->P = height * width;
  net->M = cfg->latent;
  net->C_dec = cfg->dec_channels;
  net->C_ref = cfg->ref_channels;
  net->Cin = iodine_config_refine_inputs (cfg);
  net->L_dec = cfg->dec_layers;
  net->L_ref = cfg->ref_layers;
  net->Hl = cfg->lstm_hidden;
  net->train = train;
  net->nsave = train ? iterations + 1 : 1;
  net->nll_weight = 1.0f;
  shapes (net);
}

size_t
iodine_net_bytes (const IodineConfig *cfg, const ParamLayout *layout, int batch, int slots,
                  int iterations, int height, int width, gboolean train)
{
  IodineNet net;
  Planner pl = { 0, TRUE, FALSE };
  init_dims (&net, cfg, layout, batch, slots, iterations, height, width, train);
  allocate (&net, &pl);
  return pl.floats * sizeof (float) + 5 * (iterations + 1) * (size_t) (batch + 1) * sizeof (double);
}

static void
fill_coords (IodineNet *net)
{
  const int H = net->H, W = net->W;
  const int nc = iodine_config_coord_channels (net->cfg);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        size_t p = (size_t) y * W + x;
        /* linspace(−1, 1, n); a single row or column sits at −1 as in torch */
        float ly = H > 1 ? -1.0f + 2.0f * y / (H - 1) : -1.0f;
        float lx = W > 1 ? -1.0f + 2.0f * x / (W - 1) : -1.0f;
        net->dec_coords[p * 2] = ly;
        net->dec_coords[p * 2 + 1] = lx;
        float *rc = net->ref_coords + p * nc;
        if (net->cfg->coords == IODINE_COORDS_LINEAR)
          {
            rc[0] = ly;
            rc[1] = lx;
            continue;
          }
        double v = H > 1 ? (double) y / (H - 1) : 0.0;
        double u = W > 1 ? (double) x / (W - 1) : 0.0;
        int i = 0;
        for (int fy = 0; fy < 3; fy++)
          for (int fx = 0; fx < 3; fx++)
            if (fy || fx)
              rc[i++] = (float) (cos (M_PI * fy * v) * cos (M_PI * fx * u));
      }
}

IodineNet *
iodine_net_new (const IodineConfig *cfg, const ParamLayout *layout, int batch, int slots,
                int iterations, int height, int width, gboolean train, GError **error)
{
  IodineNet *net = g_new0 (IodineNet, 1);
  init_dims (net, cfg, layout, batch, slots, iterations, height, width, train);
  Planner pl = { 0, FALSE, FALSE };
  allocate (net, &pl);
  net->loss = g_new0 (double, iterations + 1);
  net->nll = g_new0 (double, iterations + 1);
  net->kl = g_new0 (double, iterations + 1);
  net->loss_img = g_new0 (double, (size_t) (iterations + 1) * batch);
  if (pl.failed)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MEMORY,
                   "not enough memory for a run of %d×%d pixels, %d slots, %d iterations, "
                   "batch %d (%.1f MiB needed)",
                   width, height, slots, iterations, batch,
                   (double) pl.floats * sizeof (float) / 1048576.0);
      iodine_net_free (net);
      return NULL;
    }
  fill_coords (net);
  return net;
}

void
iodine_net_free (IodineNet *net)
{
  if (!net)
    return;
  float **bufs[] = {
    &net->image, &net->dec_coords, &net->ref_coords, &net->lambda, &net->eps, &net->lstm_h,
    &net->lstm_c, &net->lstm_gates, &net->z, &net->dec_act, &net->dec_out, &net->masks,
    &net->resp, &net->post, &net->ref_in, &net->ref_xhat, &net->enc_act, &net->pooled,
    &net->mlp_act, &net->flat, &net->glam_xhat, &net->conv_work, &net->logp,
    &net->loo, &net->d_out, &net->d_act_a, &net->d_act_b, &net->d_in, &net->grad_lambda,
    &net->d_lambda, &net->d_small_a, &net->d_small_b, &net->d_h, &net->d_c, &net->d_h2,
    &net->d_c2, &net->lstm_scratch, &net->sg_raw, &net->sg_glam,
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (*bufs[i]);
  g_free (net->loss);
  g_free (net->nll);
  g_free (net->kl);
  g_free (net->loss_img);
  g_free (net);
}

double
iodine_net_train_loss (const IodineNet *net)
{
  double s = 0.0;
  for (int t = 1; t <= net->T; t++)
    s += (double) t / net->T * (net->nll_weight * net->nll[t] + net->kl[t]);
  return s;
}

/* --- the likelihood of every image of the batch, images over the threads --- */

typedef enum { MIX_FORWARD, MIX_LOSS_BACKWARD, MIX_INPUTS_BACKWARD } MixMode;

typedef struct {
  IodineNet *net;
  int s;
  MixMode mode;
  gboolean with_loo;
  float w;
  double *nll;                /* MIX_FORWARD: per image */
} MixJob;

static void
mixture_images (int begin, int end, void *ctx)
{
  const MixJob *j = ctx;
  IodineNet *net = j->net;
  const int K = net->K, P = net->P, s = j->s, Cin = net->Cin;
  const float scale = net->cfg->pixel_scale;
  for (int b = begin; b < end; b++)
    {
      size_t o = (size_t) b * K * P;
      const float *x = net->image + (size_t) b * P * 3;
      const float *out = net_dec_out (net, s) + o * 4;
      switch (j->mode)
        {
        case MIX_FORWARD:
          j->nll[b] = mixture_forward (net->logp + (size_t) b * P, net_masks (net, s) + o,
                                       net_resp (net, s) + o, net_post (net, s) + o,
                                       j->with_loo ? net->loo + o : NULL, x, out, K, P, scale);
          break;
        case MIX_LOSS_BACKWARD:
          mixture_loss_backward (net->d_out + o * 4, x, out, net_masks (net, s) + o,
                                 net_resp (net, s) + o, j->w, K, P, scale);
          break;
        case MIX_INPUTS_BACKWARD:
          mixture_inputs_backward (net->d_out + o * 4, net->d_in + o * Cin + 7,
                                   net->d_in + o * Cin + 8, Cin, x, out, net_masks (net, s) + o,
                                   net_post (net, s) + o, K, P, scale);
          break;
        }
    }
}

void
net_mixture_forward (IodineNet *net, int s, gboolean with_loo, double *nll_per_image)
{
  MixJob j = { net, s, MIX_FORWARD, with_loo, 0.0f, nll_per_image };
  iodine_parallel_for (net->B, mixture_images, &j);
}

void
net_mixture_loss_backward (IodineNet *net, int s, float w)
{
  MixJob j = { net, s, MIX_LOSS_BACKWARD, FALSE, w, NULL };
  iodine_parallel_for (net->B, mixture_images, &j);
}

void
net_mixture_inputs_backward (IodineNet *net, int s)
{
  MixJob j = { net, s, MIX_INPUTS_BACKWARD, FALSE, 0.0f, NULL };
  iodine_parallel_for (net->B, mixture_images, &j);
}
