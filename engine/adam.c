#include "adam.h"

#include <math.h>

double
grad_global_norm (const float *g, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double) g[i] * g[i];
  return sqrt (s);
}

double
grad_clip (float *g, size_t n, double max_norm)
{
  double norm = grad_global_norm (g, n);
  if (norm > max_norm)
    {
      float f = (float) (max_norm / norm);
      for (size_t i = 0; i < n; i++)
        g[i] *= f;
    }
  return norm;
}

void
adam_update (float *p, float *m, float *v, const float *g, size_t n, double lr, double beta1,
             double beta2, double eps, uint64_t step)
{
  const double c1 = 1.0 - pow (beta1, (double) step);
  const double c2 = 1.0 - pow (beta2, (double) step);
  const float b1 = (float) beta1, b2 = (float) beta2;
  for (size_t i = 0; i < n; i++)
    {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      double mh = m[i] / c1, vh = v[i] / c2;
      p[i] -= (float) (lr * mh / (sqrt (vh) + eps));
    }
}
