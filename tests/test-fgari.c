/* FG-ARI against values computed by hand and with scikit-learn 1.2.1
 * (sklearn.metrics.adjusted_rand_score). */
#include "fgari.h"

#include <math.h>

#define N_MAX 300

static void
check_close (double got, double want)
{
  if (fabs (got - want) > 1e-12)
    g_error ("ARI %.17g, expected %.17g", got, want);
}

static double
ari (const uint8_t *t, const int *p, int n)
{
  return iodine_ari_from_labels (t, p, n, TRUE);
}

static void
test_hand_values (void)
{
  /* 2 pairs agree out of a possible 4.5 with 1.2 expected: 0.8 / 3.3. */
  uint8_t t1[] = { 1, 1, 1, 2, 2, 2 };
  int p1[] = { 0, 0, 1, 1, 2, 2 };
  check_close (ari (t1, p1, 6), 0.8 / 3.3);
  check_close (ari (t1, p1, 6), 0.24242424242424243);

  uint8_t t2[] = { 1, 1, 2, 2, 3, 3 };
  int p2[] = { 0, 0, 0, 0, 1, 1 };
  check_close (ari (t2, p2, 6), 0.4444444444444444);

  /* Everything in one slot while there are two objects: 0. */
  int p3[] = { 5, 5, 5, 5, 5, 5 };
  check_close (ari (t1, p3, 6), 0.0);

  /* One object split in two: 0. */
  uint8_t t4[] = { 1, 1, 1, 1 };
  int p4[] = { 0, 1, 0, 1 };
  check_close (ari (t4, p4, 4), 0.0);
}

static void
test_perfect_and_special (void)
{
  uint8_t t[] = { 1, 1, 2, 2, 3, 3, 3 };
  int same[] = { 1, 1, 2, 2, 3, 3, 3 };
  int perm[] = { 9, 9, -4, -4, 0, 0, 0 }; /* any integers, permuted */
  check_close (ari (t, same, 7), 1.0);
  check_close (ari (t, perm, 7), 1.0);

  /* Both one cluster, all singletons, a single pixel: 1 (as scikit-learn). */
  uint8_t one[] = { 2, 2, 2 };
  int onep[] = { 7, 7, 7 };
  check_close (ari (one, onep, 3), 1.0);
  uint8_t single[] = { 1, 2, 3, 4 };
  int singlep[] = { 0, 1, 2, 3 };
  check_close (ari (single, singlep, 4), 1.0);
  uint8_t px[] = { 3 };
  int pxp[] = { 0 };
  check_close (ari (px, pxp, 1), 1.0);

  /* No foreground: NaN. */
  uint8_t bg[] = { 0, 0, 0 };
  int bgp[] = { 0, 1, 2 };
  g_assert_true (isnan (ari (bg, bgp, 3)));
}

static void
test_background_ignored (void)
{
  /* The t1/p1 case again, with background pixels scattered over every slot;
   * with background included the value changes. */
  uint8_t t[] = { 0, 1, 1, 0, 1, 2, 2, 0, 2, 0 };
  int p[] = { 2, 0, 0, 1, 1, 1, 2, 0, 2, 2 };
  check_close (ari (t, p, 10), 0.24242424242424243);
  g_assert_true (fabs (iodine_ari_from_labels (t, p, 10, FALSE) - 0.24242424242424243) > 1e-3);
}

static void
test_larger (void)
{
  uint8_t t[N_MAX];
  int p[N_MAX];
  for (int i = 0; i < 100; i++)
    {
      t[i] = (uint8_t) ((i * 7) % 5 + 1);
      p[i] = i % 3 ? (i * 3) % 4 : (i * 7) % 5;
    }
  check_close (ari (t, p, 100), 0.06836235055140029);
  for (int i = 0; i < 300; i++)
    {
      t[i] = (uint8_t) (1 + (i / 10) % 3);
      p[i] = i % 17 ? (i / 10) % 3 : 7;
    }
  check_close (ari (t, p, 300), 0.90688607090361);
}

static void
test_masks (void)
{
  /* 6 pixels, 3 slots; argmax gives slots 0 0 1 1 2 2 on the foreground. */
  uint8_t labels[] = { 1, 1, 1, 2, 2, 2, 0, 0 };
  const int n = 8;
  float masks[3 * 8] = {
    0.9f, 0.6f, 0.1f, 0.2f, 0.0f, 0.1f, 0.3f, 1.0f, /* slot 0 */
    0.1f, 0.3f, 0.8f, 0.7f, 0.3f, 0.2f, 0.3f, 0.0f, /* slot 1 */
    0.0f, 0.1f, 0.1f, 0.1f, 0.7f, 0.7f, 0.4f, 0.0f, /* slot 2 */
  };
  check_close (iodine_fg_ari (labels, masks, 3, n), 0.24242424242424243);

  /* Perfect under a slot permutation: object 1 in slot 2, object 2 in slot 0. */
  float perfect[3 * 8] = {
    0.0f, 0.1f, 0.2f, 0.9f, 0.8f, 0.5f, 1.0f, 0.0f,
    0.1f, 0.1f, 0.2f, 0.0f, 0.1f, 0.2f, 0.0f, 1.0f,
    0.9f, 0.8f, 0.6f, 0.1f, 0.1f, 0.3f, 0.0f, 0.0f,
  };
  check_close (iodine_fg_ari (labels, perfect, 3, n), 1.0);

  /* Uniform masks: every pixel in slot 0 (ties go low): 0 for 2 objects. */
  float uniform[3 * 8];
  for (int i = 0; i < 3 * 8; i++)
    uniform[i] = 1.0f / 3.0f;
  check_close (iodine_fg_ari (labels, uniform, 3, n), 0.0);

  uint8_t none[8] = { 0 };
  g_assert_true (isnan (iodine_fg_ari (none, masks, 3, n)));
  g_assert_true (isnan (iodine_fg_ari (NULL, masks, 3, n)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fgari/hand-values", test_hand_values);
  g_test_add_func ("/fgari/perfect-and-special", test_perfect_and_special);
  g_test_add_func ("/fgari/background-ignored", test_background_ignored);
  g_test_add_func ("/fgari/larger", test_larger);
  g_test_add_func ("/fgari/masks", test_masks);
  return g_test_run ();
}
