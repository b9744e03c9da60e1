/* Adjusted Rand index, computed like scikit-learn's adjusted_rand_score:
 * from the pair confusion matrix of the contingency table, in doubles
 * (pair counts reach n² ≈ 10^10 for a 300×300 image: exact in a double,
 * but not in 32-bit integers). */
#include "fgari.h"

#include <math.h>

/* ARI of two partitions given as dense small labels a[i] in [0, na),
 * b[i] in [0, nb). */
static double
ari_dense (const int *a, int na, const int *b, int nb, int n)
{
  if (n == 0)
    return NAN;
  double *table = g_new0 (double, (size_t) na * nb);
  double *rows = g_new0 (double, na);
  double *cols = g_new0 (double, nb);
  for (int i = 0; i < n; i++)
    {
      table[(size_t) a[i] * nb + b[i]] += 1.0;
      rows[a[i]] += 1.0;
      cols[b[i]] += 1.0;
    }
  double sum_sq = 0, rows_sq = 0, cols_sq = 0;
  for (size_t i = 0; i < (size_t) na * nb; i++)
    sum_sq += table[i] * table[i];
  for (int i = 0; i < na; i++)
    rows_sq += rows[i] * rows[i];
  for (int j = 0; j < nb; j++)
    cols_sq += cols[j] * cols[j];
  g_free (table);
  g_free (rows);
  g_free (cols);

  /* Ordered pairs: same/same, same-in-b-only, same-in-a-only, neither. */
  double nn = (double) n;
  double tp = sum_sq - nn;
  double fp = cols_sq - sum_sq;
  double fn = rows_sq - sum_sq;
  double tn = nn * nn - fp - fn - sum_sq;
  /* Identical partitions (includes one cluster each, all singletons, n = 1). */
  if (fn == 0 && fp == 0)
    return 1.0;
  double den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  if (den == 0)
    return 1.0;
  return 2.0 * (tp * tn - fn * fp) / den;
}

/* Renumbers arbitrary ints to 0..m-1 in order of first appearance. */
static int
compact (const int *in, int *out, int n)
{
  GHashTable *ids = g_hash_table_new (g_direct_hash, g_direct_equal);
  int m = 0;
  for (int i = 0; i < n; i++)
    {
      gpointer key = GINT_TO_POINTER (in[i]);
      gpointer v;
      if (g_hash_table_lookup_extended (ids, key, NULL, &v))
        out[i] = GPOINTER_TO_INT (v);
      else
        {
          g_hash_table_insert (ids, key, GINT_TO_POINTER (m));
          out[i] = m++;
        }
    }
  g_hash_table_destroy (ids);
  return m;
}

double
iodine_ari_from_labels (const uint8_t *true_labels, const int *pred_labels,
                        int n_pixels, gboolean ignore_background)
{
  if (true_labels == NULL || pred_labels == NULL || n_pixels <= 0)
    return NAN;
  int *a = g_new (int, n_pixels);
  int *b = g_new (int, n_pixels);
  int n = 0;
  for (int i = 0; i < n_pixels; i++)
    {
      if (ignore_background && true_labels[i] == 0)
        continue;
      a[n] = true_labels[i];
      b[n] = pred_labels[i];
      n++;
    }
  int *bc = g_new (int, MAX (n, 1));
  int nb = compact (b, bc, n);
  double ari = ari_dense (a, 256, bc, MAX (nb, 1), n);
  g_free (a);
  g_free (b);
  g_free (bc);
  return ari;
}

double
iodine_fg_ari (const uint8_t *labels, const float *masks, int slots, int n_pixels)
{
  if (labels == NULL || masks == NULL || slots <= 0 || n_pixels <= 0)
    return NAN;
  int *a = g_new (int, n_pixels);
  int *b = g_new (int, n_pixels);
  int n = 0;
  for (int i = 0; i < n_pixels; i++)
    {
      if (labels[i] == 0)
        continue;
      /* Argmax slot; ties go to the lowest slot, NaN never wins. */
      int best = 0;
      float bv = masks[i];
      for (int k = 1; k < slots; k++)
        {
          float v = masks[(size_t) k * n_pixels + i];
          if (v > bv || (isnan (bv) && !isnan (v)))
            {
              bv = v;
              best = k;
            }
        }
      a[n] = labels[i];
      b[n] = best;
      n++;
    }
  double ari = ari_dense (a, 256, b, slots, n);
  g_free (a);
  g_free (b);
  return ari;
}
