/* Restarts (IodineRunOptions.restarts): R inference runs from different
 * samples, the one with the lowest final loss kept. Checked on the shipped
 * Tetrominoes weights, whose runs differ, against single runs drawn from
 * each restart's seed: the kept result is the lowest-loss one bit for bit,
 * one restart is the plain run, progress counts through every restart, and
 * cancelling or an out-of-range count fails cleanly. */
#include "dataset.h"
#include "iodine.h"

#include <math.h>
#include <string.h>

typedef struct {
  IodineModel *model;
  float image[35 * 35 * 3];
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  (void) data;
  const char *src = g_getenv ("IODINE_SOURCE_DIR");
  char *path = g_build_filename (src ? src : ".", "weights", "tetrominoes.safetensors", NULL);
  GError *error = NULL;
  fx->model = iodine_model_load (path, &error);
  g_assert_no_error (error);
  g_free (path);
  /* a scene with two yellow pieces, where runs settle in different groupings */
  IodineDataset *ds = iodine_dataset_new ("tetrominoes", 35, 35, 2026, &error);
  g_assert_no_error (error);
  g_assert_true (iodine_dataset_get (ds, 10, fx->image, NULL, &error));
  iodine_dataset_free (ds);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  (void) data;
  iodine_model_free (fx->model);
}

static IodineResult *
run (const Fixture *fx, uint64_t seed, gboolean deterministic, int restarts, GError **error)
{
  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.seed = seed;
  opt.deterministic = deterministic;
  opt.restarts = restarts;
  opt.iterations = 5;
  return iodine_decompose (fx->model, fx->image, 35, 35, &opt, error);
}

static gboolean
same_result (const IodineResult *a, const IodineResult *b)
{
  size_t KP = (size_t) a->slots * a->height * a->width;
  return a->slots == b->slots && a->iterations == b->iterations
         && memcmp (a->masks, b->masks, sizeof (float) * KP) == 0
         && memcmp (a->means, b->means, sizeof (float) * KP * 3) == 0
         && memcmp (a->loss, b->loss, sizeof (float) * (a->iterations + 1)) == 0
         && memcmp (a->masks_per_iteration, b->masks_per_iteration,
                    sizeof (float) * KP * (a->iterations + 1)) == 0;
}

static void
test_one_restart_is_the_plain_run (Fixture *fx, gconstpointer data)
{
  (void) data;
  g_assert_cmpuint (iodine_restart_seed (42, 0), ==, 42);
  IodineResult *plain = run (fx, 42, FALSE, 0, NULL);
  IodineResult *one = run (fx, 42, FALSE, 1, NULL);
  g_assert_nonnull (plain);
  g_assert_nonnull (one);
  g_assert_true (same_result (plain, one));
  iodine_result_free (plain);
  iodine_result_free (one);
}

static void
test_keeps_the_lowest_loss (Fixture *fx, gconstpointer data)
{
  (void) data;
  const int R = 6, T = 5;
  IodineResult *best = run (fx, 0, TRUE, R, NULL);
  g_assert_nonnull (best);
  int lowest = -1;
  float lowest_loss = INFINITY, highest_loss = -INFINITY;
  IodineResult *singles[6];
  for (int r = 0; r < R; r++)
    {
      singles[r] = run (fx, iodine_restart_seed (IODINE_DETERMINISTIC_SEED, r), FALSE, 1, NULL);
      g_assert_nonnull (singles[r]);
      float l = singles[r]->loss[T];
      g_assert_true (isfinite (l));
      if (l < lowest_loss)
        {
          lowest_loss = l;
          lowest = r;
        }
      highest_loss = fmaxf (highest_loss, l);
    }
  /* the restarts really differ, and the kept one is the lowest, bit for bit */
  g_assert_cmpfloat (highest_loss - lowest_loss, >, 1.0f);
  g_assert_true (same_result (best, singles[lowest]));
  g_test_message ("losses from %.1f to %.1f; restart %d kept", lowest_loss, highest_loss, lowest);
  for (int r = 0; r < R; r++)
    iodine_result_free (singles[r]);
  iodine_result_free (best);
}

typedef struct {
  int calls, runs, iterations, cancel_at;
  double last_fraction;
} Progress;

/* Reports must come in order: restart r = 0..R−1, within it t = 0..T, the
 * fraction rising to exactly 1 at the last one. */
static gboolean
count_progress (const IodineProgress *pr, gpointer data)
{
  Progress *p = data;
  const int per_run = p->iterations + 1;
  g_assert_cmpint (pr->restarts, ==, p->runs);
  g_assert_cmpint (pr->iterations, ==, p->iterations);
  g_assert_cmpint (pr->restart, ==, p->calls / per_run);
  g_assert_cmpint (pr->iteration, ==, p->calls % per_run);
  g_assert_true (isfinite (pr->loss));
  g_assert_cmpfloat (pr->fraction, >, p->last_fraction);
  g_assert_cmpfloat_with_epsilon (pr->fraction, (double) (p->calls + 1) / (p->runs * per_run), 1e-12);
  p->last_fraction = pr->fraction;
  return p->calls++ != p->cancel_at;
}

static void
test_progress_and_cancel (Fixture *fx, gconstpointer data)
{
  (void) data;
  const int R = 3, T = 5;
  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.deterministic = TRUE;
  opt.restarts = R;
  opt.iterations = T;
  Progress p = { 0, R, T, -1, 0.0 };
  opt.progress = count_progress;
  opt.progress_data = &p;
  IodineResult *r = iodine_decompose (fx->model, fx->image, 35, 35, &opt, NULL);
  g_assert_nonnull (r);
  g_assert_cmpint (p.calls, ==, R * (T + 1));
  g_assert_cmpfloat (p.last_fraction, ==, 1.0);
  iodine_result_free (r);

  /* cancelled in the second restart: no result, the cancel error */
  Progress c = { 0, R, T, (T + 1) + 2, 0.0 };
  opt.progress_data = &c;
  GError *error = NULL;
  r = iodine_decompose (fx->model, fx->image, 35, 35, &opt, &error);
  g_assert_null (r);
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_CANCELLED);
  g_assert_cmpint (c.calls, ==, (T + 1) + 3);
  g_error_free (error);
}

static void
test_out_of_range (Fixture *fx, gconstpointer data)
{
  (void) data;
  const int bad[] = { -1, IODINE_MAX_RESTARTS + 1 };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;
      IodineResult *r = run (fx, 0, TRUE, bad[i], &error);
      g_assert_null (r);
      g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "restarts must be between 1 and 64"));
      g_error_free (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/restarts/one-is-the-plain-run", Fixture, NULL, fixture_set_up,
              test_one_restart_is_the_plain_run, fixture_tear_down);
  g_test_add ("/restarts/keeps-the-lowest-loss", Fixture, NULL, fixture_set_up,
              test_keeps_the_lowest_loss, fixture_tear_down);
  g_test_add ("/restarts/progress-and-cancel", Fixture, NULL, fixture_set_up,
              test_progress_and_cancel, fixture_tear_down);
  g_test_add ("/restarts/out-of-range", Fixture, NULL, fixture_set_up, test_out_of_range,
              fixture_tear_down);
  return g_test_run ();
}
