#include "params.h"

#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int
add (ParamLayout *l, gboolean is_conv, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
     const char *fmt, ...) G_GNUC_PRINTF (8, 9);

static int
add (ParamLayout *l, gboolean is_conv, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
     const char *fmt, ...)
{
  g_assert (l->n < (int) G_N_ELEMENTS (l->info));
  ParamInfo *p = &l->info[l->n];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (p->name, sizeof p->name, fmt, ap);
  va_end (ap);
  p->ndim = ndim;
  int64_t dims[4] = { d0, d1, d2, d3 };
  p->numel = 1;
  for (int i = 0; i < ndim; i++)
    {
      p->shape[i] = dims[i];
      p->numel *= (size_t) dims[i];
    }
  p->is_conv = is_conv;
  p->offset = l->total;
  /* keep every tensor 16-float aligned inside the block */
  l->total += (p->numel + 15) & ~(size_t) 15;
  return l->n++;
}

void
param_layout_init (ParamLayout *l, const IodineConfig *c)
{
  memset (l, 0, sizeof *l);
  const int M = c->latent;
  l->init_lambda = add (l, FALSE, 1, 2 * M, 0, 0, 0, "init.lambda");
  for (int i = 0; i <= c->dec_layers; i++)
    {
      int cin = i == 0 ? M + 2 : c->dec_channels;
      int cout = i == c->dec_layers ? 4 : c->dec_channels;
      l->dec_w[i] = add (l, TRUE, 4, cout, cin, c->dec_kernel, c->dec_kernel,
                         "decoder.conv.%d.weight", i);
      l->dec_b[i] = add (l, FALSE, 1, cout, 0, 0, 0, "decoder.conv.%d.bias", i);
    }
  for (int i = 0; i < c->ref_layers; i++)
    {
      int cin = i == 0 ? iodine_config_refine_inputs (c) : c->ref_channels;
      l->ref_w[i] = add (l, TRUE, 4, c->ref_channels, cin, c->ref_kernel, c->ref_kernel,
                         "refine.conv.%d.weight", i);
      l->ref_b[i] = add (l, FALSE, 1, c->ref_channels, 0, 0, 0, "refine.conv.%d.bias", i);
    }
  int in = c->ref_channels;
  for (int i = 0; i < c->mlp_layers; i++)
    {
      l->mlp_w[i] = add (l, FALSE, 2, c->mlp_sizes[i], in, 0, 0, "refine.mlp.%d.weight", i);
      l->mlp_b[i] = add (l, FALSE, 1, c->mlp_sizes[i], 0, 0, 0, "refine.mlp.%d.bias", i);
      in = c->mlp_sizes[i];
    }
  l->flat = in + 4 * M;
  l->lstm_ih = l->lstm_hh = l->lstm_b = -1;
  l->upd_in = l->flat;
  if (c->lstm_hidden > 0)
    {
      int h = c->lstm_hidden;
      l->lstm_ih = add (l, FALSE, 2, 4 * h, l->flat, 0, 0, "refine.lstm.weight_ih");
      l->lstm_hh = add (l, FALSE, 2, 4 * h, h, 0, 0, "refine.lstm.weight_hh");
      l->lstm_b = add (l, FALSE, 1, 4 * h, 0, 0, 0, "refine.lstm.bias");
      l->upd_in = h;
    }
  l->upd_w = add (l, FALSE, 2, 2 * M, l->upd_in, 0, 0, "refine.update.weight");
  l->upd_b = add (l, FALSE, 1, 2 * M, 0, 0, 0, "refine.update.bias");
  static const char *norm_names[NORM_COUNT]
      = { "grad_means", "grad_mask_logits", "log_likelihood", "leave_one_out", "grad_lambda" };
  const int norm_size[NORM_COUNT] = { 3, 1, 1, 1, 2 * M };
  for (int g = 0; g < NORM_COUNT; g++)
    {
      l->norm_w[g] = add (l, FALSE, 1, norm_size[g], 0, 0, 0, "refine.norm.%s.weight",
                          norm_names[g]);
      l->norm_b[g] = add (l, FALSE, 1, norm_size[g], 0, 0, 0, "refine.norm.%s.bias",
                          norm_names[g]);
    }
}

int
param_layout_find (const ParamLayout *l, const char *name)
{
  for (int i = 0; i < l->n; i++)
    if (strcmp (l->info[i].name, name) == 0)
      return i;
  return -1;
}

static void
fill_truncated (float *w, size_t n, int fan_in, IodineRng *rng)
{
  double sigma = 1.0 / sqrt ((double) fan_in);
  for (size_t i = 0; i < n; i++)
    w[i] = (float) iodine_rng_truncated_normal (rng, sigma);
}

void
params_init_reference (const ParamLayout *l, const IodineConfig *c, float *params, uint64_t seed)
{
  IodineRng rng;
  iodine_rng_seed (&rng, seed);
  memset (params, 0, sizeof (float) * l->total);
  for (int i = 0; i < l->n; i++)
    {
      const ParamInfo *p = &l->info[i];
      float *w = params + p->offset;
      if (i == l->init_lambda)
        {
          double a = sqrt (3.0 / (2.0 * c->latent));
          for (size_t j = 0; j < p->numel; j++)
            w[j] = (float) ((2.0 * iodine_rng_uniform (&rng) - 1.0) * a);
        }
      else if (p->is_conv)
        /* the engine's [cout, k, k, cin] layout holds the same i.i.d. values */
        fill_truncated (w, p->numel, (int) (p->shape[1] * p->shape[2] * p->shape[3]), &rng);
      else if (i == l->lstm_ih || i == l->lstm_hh)
        fill_truncated (w, p->numel, l->flat + c->lstm_hidden, &rng);
      else if (p->ndim == 2)
        fill_truncated (w, p->numel, (int) p->shape[1], &rng);
    }
  if (l->lstm_b >= 0)
    {
      float *b = PARAM (l, params, l->lstm_b);
      for (int j = 0; j < c->lstm_hidden; j++)
        b[c->lstm_hidden + j] = 1.0f; /* forget gate */
    }
  for (int g = 0; g < NORM_COUNT; g++)
    {
      const ParamInfo *p = &l->info[l->norm_w[g]];
      for (size_t j = 0; j < p->numel; j++)
        params[p->offset + j] = 1.0f;
    }
}
