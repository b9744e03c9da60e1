#include "mixture.h"

#include "iodine.h"
#include "layers.h"

#include <math.h>

/* log Logistic(x; μ, s) = −u − log s − 2·softplus(−u) */
static inline float
log_logistic (float x, float mu, float scale, float log_scale)
{
  float u = (x - mu) / scale;
  return -u - log_scale - 2.0f * softplusf (-u);
}

static inline float
logsumexp (const float *a, int n, int skip)
{
  float mx = -INFINITY;
  for (int j = 0; j < n; j++)
    if (j != skip && a[j] > mx)
      mx = a[j];
  double s = 0.0;
  for (int j = 0; j < n; j++)
    if (j != skip)
      s += exp ((double) (a[j] - mx));
  return mx + (float) log (s);
}

double
mixture_forward (float *logp, float *masks, float *resp, float *post, float *loo,
                 const float *x, const float *dec_out, int K, int P, float scale)
{
  const float log_scale = logf (scale);
  const size_t kstride = (size_t) P * 4;
  double nll = 0.0;
  for (int p = 0; p < P; p++)
    {
      float logit[IODINE_MAX_SLOTS], ll[IODINE_MAX_SLOTS], a[IODINE_MAX_SLOTS];
      const float *xp = x + (size_t) p * 3;
      for (int k = 0; k < K; k++)
        {
          const float *o = dec_out + k * kstride + (size_t) p * 4;
          logit[k] = o[0];
          ll[k] = log_logistic (xp[0], o[1], scale, log_scale)
                  + log_logistic (xp[1], o[2], scale, log_scale)
                  + log_logistic (xp[2], o[3], scale, log_scale);
          a[k] = logit[k] + ll[k];
        }
      float lse_logit = logsumexp (logit, K, -1);
      float lse_a = logsumexp (a, K, -1);
      float lse_ll = logsumexp (ll, K, -1);
      float lp = lse_a - lse_logit;
      logp[p] = lp;
      nll -= lp;
      for (int k = 0; k < K; k++)
        {
          size_t i = (size_t) k * P + p;
          masks[i] = expf (logit[k] - lse_logit);
          resp[i] = expf (a[k] - lse_a);
          post[i] = expf (ll[k] - lse_ll);
          if (loo)
            loo[i] = lp - (logsumexp (a, K, k) - logsumexp (logit, K, k));
        }
    }
  return nll;
}

void
mixture_loss_backward (float *d_out, const float *x, const float *dec_out, const float *masks,
                       const float *resp, float w, int K, int P, float scale)
{
  for (int k = 0; k < K; k++)
    for (int p = 0; p < P; p++)
      {
        size_t i = (size_t) k * P + p;
        const float *o = dec_out + i * 4;
        const float *xp = x + (size_t) p * 3;
        float *d = d_out + i * 4;
        float r = resp[i];
        d[0] += w * (masks[i] - r);
        for (int c = 0; c < 3; c++)
          d[1 + c] -= w * r * logistic_dmean (xp[c], o[1 + c], scale);
      }
}

void
mixture_inputs_backward (float *d_out, const float *dm, const float *dpost, int stride,
                         const float *x, const float *dec_out, const float *masks,
                         const float *post, int K, int P, float scale)
{
  for (int p = 0; p < P; p++)
    {
      double sm = 0.0, sp = 0.0;
      for (int k = 0; k < K; k++)
        {
          size_t i = (size_t) k * P + p;
          sm += (double) masks[i] * dm[i * stride];
          sp += (double) post[i] * dpost[i * stride];
        }
      const float *xp = x + (size_t) p * 3;
      for (int k = 0; k < K; k++)
        {
          size_t i = (size_t) k * P + p;
          const float *o = dec_out + i * 4;
          float *d = d_out + i * 4;
          d[0] += masks[i] * (float) (dm[i * stride] - sm);
          float dll = post[i] * (float) (dpost[i * stride] - sp);
          for (int c = 0; c < 3; c++)
            d[1 + c] += dll * logistic_dmean (xp[c], o[1 + c], scale);
        }
    }
}
