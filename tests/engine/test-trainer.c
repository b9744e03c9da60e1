/* The trainer (train.h): resuming from a checkpoint is bit-exact, a fixed
 * batch can be overfitted, a non-finite step changes nothing, checkpoints
 * carry their training state (the weight average too) while plain weights
 * files cannot be resumed. */
#include "dataset.h"
#include "model_private.h"
#include "rng.h"
#include "tensorfile.h"
#include "train.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static char *tmpdir;

/* The tetrominoes architecture with tiny widths, an LSTM, at h × w. */
static IodineConfig
tiny_config (int h, int w)
{
  IodineConfig c;
  GError *error = NULL;
  g_assert_true (iodine_config_preset ("tetrominoes", &c, &error));
  g_assert_no_error (error);
  c.height = h;
  c.width = w;
  c.slots = 2;
  c.iterations = 2;
  c.latent = 4;
  c.dec_layers = 2;
  c.dec_channels = 4;
  c.dec_kernel = 3;
  c.ref_layers = 2;
  c.ref_channels = 4;
  c.ref_kernel = 3;
  c.mlp_layers = 1;
  c.mlp_sizes[0] = 8;
  c.lstm_hidden = 6;
  g_assert_true (iodine_config_validate (&c, &error));
  g_assert_no_error (error);
  return c;
}

static IodineTrainer *
tiny_trainer (const IodineConfig *c, int batch, uint64_t seed, int warmup, double half_life,
              double lr)
{
  GError *error = NULL;
  IodineModel *m = iodine_model_new_random (c, seed, &error);
  g_assert_no_error (error);
  IodineTrainOptions o;
  iodine_train_options_init (&o);
  o.batch = batch;
  o.slots = 2;
  o.iterations = 2;
  o.seed = seed;
  o.lr = lr;
  o.warmup_steps = warmup;
  o.decay_half_life = half_life;
  g_strlcpy (o.dataset, "tetrominoes", sizeof o.dataset);
  IodineTrainer *tr = iodine_trainer_new (m, &o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tr);
  return tr;
}

/* The Tetrominoes scenes of a seed at H × W. */
static IodineDataset *
tetrominoes_at (int H, int W, uint64_t seed)
{
  GError *error = NULL;
  IodineDataset *ds = iodine_dataset_new ("tetrominoes", H, W, seed, &error);
  g_assert_no_error (error);
  return ds;
}

/* Scenes first .. first + n − 1 of a dataset into images, one after
 * another (n × H × W × 3). */
static void
get_scenes (IodineDataset *ds, uint64_t first, int n, float *images)
{
  GError *error = NULL;
  const size_t one = (size_t) iodine_dataset_height (ds) * iodine_dataset_width (ds) * 3;
  for (int b = 0; b < n; b++)
    {
      g_assert_true (iodine_dataset_get (ds, first + b, images + (size_t) b * one, NULL, &error));
      g_assert_no_error (error);
    }
}

/* The first n scenes of a dataset, in a new array. */
static float *
first_scenes (IodineDataset *ds, int n)
{
  float *images = g_new (float, (size_t) n * iodine_dataset_height (ds)
                                    * iodine_dataset_width (ds) * 3);
  get_scenes (ds, 0, n, images);
  return images;
}

/* n standard normal floats from a seeded stream: fixed noise for a step. */
static float *
normal_noise (size_t n, uint64_t seed)
{
  IodineRng rng;
  iodine_rng_seed (&rng, seed);
  float *eps = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    eps[i] = (float) iodine_rng_normal (&rng);
  return eps;
}

/* One step on the dataset samples the trainer asks for, noise from its RNG;
 * its statistics in *out unless out is NULL. */
static void
step_on_samples (IodineTrainer *tr, IodineDataset *ds, float *images, IodineStepStats *out)
{
  GError *error = NULL;
  const IodineTrainOptions *o = iodine_trainer_options (tr);
  get_scenes (ds, iodine_trainer_next_sample (tr), o->batch, images);
  IodineStepStats st;
  g_assert_true (iodine_trainer_step (tr, images, NULL, &st, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (st.loss) && isfinite (st.grad_norm));
  if (out)
    *out = st;
}

/* The same, where the batch size never changed: sample step·batch on. */
static void
step_with_stats (IodineTrainer *tr, IodineDataset *ds, float *images, IodineStepStats *out)
{
  g_assert_cmpuint (iodine_trainer_next_sample (tr), ==,
                    iodine_trainer_step_count (tr) * (uint64_t) iodine_trainer_options (tr)->batch);
  step_on_samples (tr, ds, images, out);
}

static void
step_on_dataset (IodineTrainer *tr, IodineDataset *ds, float *images)
{
  step_with_stats (tr, ds, images, NULL);
}

/* Trainer A: 2N steps. Trainer B: N steps, checkpoint, free, resume, N more.
 * Warm-up and decay are on, so the schedule must resume at the right step;
 * the noise comes from the trainer's RNG, so its state must be restored. */
static void
test_resume_bit_exact (void)
{
  const int N = 3, B = 2, H = 12, W = 14;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 11);
  float *images = g_new (float, (size_t) B * H * W * 3);

  IodineTrainer *a = tiny_trainer (&c, B, 11, 2, 10.0, 1e-3);
  for (int i = 0; i < 2 * N; i++)
    step_on_dataset (a, ds, images);

  IodineTrainer *b = tiny_trainer (&c, B, 11, 2, 10.0, 1e-3);
  for (int i = 0; i < N; i++)
    step_on_dataset (b, ds, images);
  char *path = g_build_filename (tmpdir, "resume.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (b, path, NULL, &error));
  g_assert_no_error (error);
  iodine_trainer_free (b);
  b = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (b);
  g_assert_cmpuint (iodine_trainer_step_count (b), ==, N);
  g_assert_cmpuint (iodine_trainer_next_sample (b), ==, (uint64_t) N * B);
  const IodineTrainOptions *oa = iodine_trainer_options (a), *ob = iodine_trainer_options (b);
  g_assert_cmpint (ob->batch, ==, oa->batch);
  g_assert_cmpint (ob->slots, ==, oa->slots);
  g_assert_cmpint (ob->iterations, ==, oa->iterations);
  g_assert_cmpint (ob->warmup_steps, ==, oa->warmup_steps);
  g_assert_true (ob->lr == oa->lr && ob->decay_half_life == oa->decay_half_life
                 && ob->beta1 == oa->beta1 && ob->beta2 == oa->beta2
                 && ob->adam_eps == oa->adam_eps && ob->clip == oa->clip);
  g_assert_cmpuint (ob->seed, ==, oa->seed);
  g_assert_cmpstr (ob->dataset, ==, oa->dataset);
  for (int i = 0; i < N; i++)
    step_on_dataset (b, ds, images);

  IodineModel *ma = iodine_trainer_model (a), *mb = iodine_trainer_model (b);
  g_assert_cmpuint (iodine_trainer_step_count (b), ==, 2 * N);
  g_assert_cmpuint (ma->layout.total, ==, mb->layout.total);
  g_assert_cmpint (memcmp (ma->params, mb->params, sizeof (float) * ma->layout.total), ==, 0);
  printf ("resume: %d + %d steps equal %d steps bit for bit (%zu parameters)\n", N, N, 2 * N,
          ma->layout.total);

  /* and the training changed the parameters at all */
  IodineModel *fresh = iodine_model_new_random (&c, 11, &error);
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (fresh->params, ma->params, sizeof (float) * ma->layout.total), !=, 0);

  iodine_model_free (fresh);
  g_unlink (path);
  g_free (path);
  iodine_trainer_free (a);
  iodine_trainer_free (b);
  iodine_dataset_free (ds);
  g_free (images);
}

/* GECO: with a target far below the reachable NLL, the constraint is
 * positive, so λ = max(1, softplus(ζ)) grows from 1 step after step; the
 * GECO state (ζ and the EMA) is in the checkpoint, so a resumed run gives the
 * same parameters bit for bit; a run without GECO keeps λ = 1. */
static void
test_geco (void)
{
  const int N = 3, B = 2, H = 12, W = 14;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 5);
  float *images = g_new (float, (size_t) B * H * W * 3);
  IodineTrainer *trainers[2];
  for (int k = 0; k < 2; k++)
    {
      IodineModel *m = iodine_model_new_random (&c, 5, &error);
      IodineTrainOptions o;
      iodine_train_options_init (&o);
      o.batch = B;
      o.seed = 5;
      o.geco_target = -1e6;
      o.geco_step = 1e-5;
      g_strlcpy (o.dataset, "tetrominoes", sizeof o.dataset);
      trainers[k] = iodine_trainer_new (m, &o, &error);
      g_assert_no_error (error);
    }
  IodineTrainer *a = trainers[0], *b = trainers[1];
  double last = 0.0;
  for (int i = 0; i < 2 * N; i++)
    {
      IodineStepStats st;
      step_with_stats (a, ds, images, &st);
      if (i == 0)
        g_assert_cmpfloat (st.geco_lambda, ==, 1.0);
      else
        g_assert_cmpfloat (st.geco_lambda, >, last);
      last = st.geco_lambda;
    }
  printf ("GECO: λ after %d steps %.6f\n", 2 * N, last);
  for (int i = 0; i < N; i++)
    step_on_dataset (b, ds, images);
  char *path = g_build_filename (tmpdir, "geco.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (b, path, NULL, &error));
  iodine_trainer_free (b);
  b = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_true (iodine_trainer_options (b)->geco_target == -1e6);
  for (int i = 0; i < N; i++)
    step_on_dataset (b, ds, images);
  IodineModel *ma = iodine_trainer_model (a), *mb = iodine_trainer_model (b);
  g_assert_cmpint (memcmp (ma->params, mb->params, sizeof (float) * ma->layout.total), ==, 0);
  g_unlink (path);
  g_free (path);
  iodine_trainer_free (a);
  iodine_trainer_free (b);
  iodine_dataset_free (ds);
  g_free (images);
}

/* Changing a run's options: what defines the run is refused by name; the
 * learning rate and GECO change from the next step, are written to the
 * checkpoint and to train_history, and a no-op change records nothing. */
static void
test_change_options (void)
{
  const int B = 2, H = 12, W = 14;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 6);
  float *images = g_new (float, (size_t) B * H * W * 3);
  IodineTrainer *tr = tiny_trainer (&c, B, 6, 0, 0.0, 3e-4);
  step_on_dataset (tr, ds, images);
  step_on_dataset (tr, ds, images);

  IodineTrainOptions o = *iodine_trainer_options (tr);
  o.slots = 3;
  g_assert_false (iodine_trainer_change_options (tr, &o, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "slots (K)"));
  g_clear_error (&error);
  o = *iodine_trainer_options (tr);
  g_strlcpy (o.dataset, "multi-dsprites", sizeof o.dataset);
  g_assert_false (iodine_trainer_change_options (tr, &o, &error));
  g_assert_nonnull (strstr (error->message, "dataset"));
  g_clear_error (&error);
  o = *iodine_trainer_options (tr);
  o.lr = 2.0;
  g_assert_false (iodine_trainer_change_options (tr, &o, &error));
  g_assert_nonnull (strstr (error->message, "learning rate"));
  g_clear_error (&error);
  o = *iodine_trainer_options (tr);
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  IodineModel *m = iodine_trainer_model (tr);
  g_assert_null (iodine_model_metadata (m, "train_history"));

  o.lr = 1e-4;
  o.geco_target = -1e6;
  o.geco_step = 1e-5;
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (iodine_model_metadata (m, "train_history"), ==,
                   "step 2: lr 0.0003 → 0.0001, GECO off → target -1e+06 α 0.99 step 1e-05");
  IodineStepStats st[2];
  for (int i = 0; i < 2; i++)
    step_with_stats (tr, ds, images, &st[i]);
  g_assert_cmpfloat (st[0].lr, ==, 1e-4);
  g_assert_cmpfloat (st[0].geco_lambda, ==, 1.0);
  g_assert_cmpfloat (st[1].geco_lambda, >, 1.0);

  char *path = g_build_filename (tmpdir, "changed.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, path, NULL, &error));
  iodine_trainer_free (tr);
  tr = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (iodine_trainer_options (tr)->lr, ==, 1e-4);
  g_assert_cmpfloat (iodine_trainer_options (tr)->geco_target, ==, -1e6);
  g_assert_cmpstr (iodine_model_metadata (iodine_trainer_model (tr), "train_history"), ==,
                   "step 2: lr 0.0003 → 0.0001, GECO off → target -1e+06 α 0.99 step 1e-05");
  o = *iodine_trainer_options (tr);
  o.lr = 5e-5;
  /* a curriculum's options may change, not the dataset drawn from */
  g_strlcpy (o.dataset, "tetrominoes:touching=0.3", sizeof o.dataset);
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (iodine_trainer_options (tr)->dataset, ==, "tetrominoes:touching=0.3");
  g_assert_cmpstr (iodine_model_metadata (iodine_trainer_model (tr), "train_history"), ==,
                   "step 2: lr 0.0003 → 0.0001, GECO off → target -1e+06 α 0.99 step 1e-05; "
                   "step 4: dataset tetrominoes → tetrominoes:touching=0.3, lr 0.0001 → 5e-05");
  g_strlcpy (o.dataset, "multi-dsprites", sizeof o.dataset);
  g_assert_false (iodine_trainer_change_options (tr, &o, &error));
  g_assert_nonnull (strstr (error->message, "dataset"));
  g_clear_error (&error);
  g_assert_cmpstr (iodine_trainer_options (tr)->dataset, ==, "tetrominoes:touching=0.3");
  /* it goes through a checkpoint, and back */
  g_assert_true (iodine_trainer_save_checkpoint (tr, path, NULL, &error));
  iodine_trainer_free (tr);
  tr = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (iodine_trainer_options (tr)->dataset, ==, "tetrominoes:touching=0.3");
  o = *iodine_trainer_options (tr);
  g_strlcpy (o.dataset, "tetrominoes", sizeof o.dataset);
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  g_assert_nonnull (strstr (iodine_model_metadata (iodine_trainer_model (tr), "train_history"),
                            "; step 4: dataset tetrominoes:touching=0.3 → tetrominoes"));
  printf ("change of options: %s\n",
          iodine_model_metadata (iodine_trainer_model (tr), "train_history"));
  g_unlink (path);
  g_free (path);
  iodine_trainer_free (tr);
  iodine_dataset_free (ds);
  g_free (images);
}

static void rewrite_with (const char *src, const char *dst, const char *key, const char *value);

/* Changing the batch size on resume: the data go on where the old size
 * stopped (no scene twice, none skipped), through a checkpoint bit for bit,
 * and the change is in train_history. */
static void
test_change_batch (void)
{
  const int H = 12, W = 14;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 6);
  float *images = g_new (float, (size_t) 3 * H * W * 3);
  IodineTrainer *a = tiny_trainer (&c, 2, 6, 0, 0.0, 3e-4);
  IodineTrainer *b = tiny_trainer (&c, 2, 6, 0, 0.0, 3e-4);
  for (int i = 0; i < 3; i++)
    {
      step_on_dataset (a, ds, images);
      step_on_dataset (b, ds, images);
    }
  IodineTrainOptions o = *iodine_trainer_options (a);
  o.batch = 3;
  g_assert_true (iodine_trainer_change_options (a, &o, &error));
  g_assert_true (iodine_trainer_change_options (b, &o, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (iodine_trainer_next_sample (a), ==, 6);
  step_on_samples (a, ds, images, NULL);
  step_on_samples (b, ds, images, NULL);
  g_assert_cmpuint (iodine_trainer_next_sample (a), ==, 9);

  /* b through a checkpoint: the same next scene, the same weights after */
  char *path = g_build_filename (tmpdir, "batch.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (b, path, NULL, &error));
  iodine_trainer_free (b);
  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (f->metadata, "train.sample_base"), ==, "6");
  g_assert_cmpstr (g_hash_table_lookup (f->metadata, "train.step_base"), ==, "3");
  iodine_tensor_file_free (f);
  b = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (iodine_trainer_options (b)->batch, ==, 3);
  g_assert_cmpuint (iodine_trainer_next_sample (b), ==, 9);
  step_on_samples (a, ds, images, NULL);
  step_on_samples (b, ds, images, NULL);
  IodineModel *ma = iodine_trainer_model (a), *mb = iodine_trainer_model (b);
  g_assert_cmpint (memcmp (ma->params, mb->params, sizeof (float) * ma->layout.total), ==, 0);
  g_assert_cmpstr (iodine_model_metadata (mb, "train_history"), ==, "step 3: batch 2 → 3");

  /* and back: from sample 12, two at a time */
  o = *iodine_trainer_options (b);
  o.batch = 2;
  g_assert_true (iodine_trainer_change_options (b, &o, &error));
  g_assert_cmpuint (iodine_trainer_next_sample (b), ==, 12);
  step_on_samples (b, ds, images, NULL);
  g_assert_cmpuint (iodine_trainer_next_sample (b), ==, 14);
  g_assert_cmpstr (iodine_model_metadata (mb, "train_history"), ==,
                   "step 3: batch 2 → 3; step 5: batch 3 → 2");

  /* a base beyond the step, or not a count, is a corrupt checkpoint */
  g_assert_true (iodine_trainer_save_checkpoint (b, path, NULL, &error));
  char *bad = g_strconcat (path, ".bad", NULL);
  const char *bad_md[][3] = { { "train.step_base", "99", "beyond" },
                              { "train.sample_base", "x", "train.sample_base" } };
  for (size_t i = 0; i < G_N_ELEMENTS (bad_md); i++)
    {
      rewrite_with (path, bad, bad_md[i][0], bad_md[i][1]);
      g_assert_null (iodine_trainer_resume (bad, &error));
      g_assert_nonnull (strstr (error->message, bad_md[i][2]));
      g_clear_error (&error);
    }
  g_unlink (bad);
  g_free (bad);
  g_unlink (path);
  g_free (path);
  iodine_trainer_free (a);
  iodine_trainer_free (b);
  iodine_dataset_free (ds);
  g_free (images);
}

/* Changing T on resume: the gradient at the new T is the one of a run that
 * had it from the start (the weights do not depend on T, only the loop and
 * the loss weights t/T do); the change is in train_history and in the
 * weights' default T, goes through a checkpoint, and the range is checked. */
static void
test_change_iterations (void)
{
  const int B = 2, H = 12, W = 14, K = 2, M = 4;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 8);
  float *images = first_scenes (ds, B);
  IodineTrainer *tr = tiny_trainer (&c, B, 8, 0, 0.0, 3e-4);

  IodineTrainOptions o = *iodine_trainer_options (tr);
  o.iterations = IODINE_MAX_ITERATIONS + 1;
  g_assert_false (iodine_trainer_change_options (tr, &o, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "iterations"));
  g_clear_error (&error);
  g_assert_cmpint (iodine_trainer_options (tr)->iterations, ==, 2);

  /* T 2 → 4 at step 0, against a run built with T 4 from the same weights */
  const int T = 4;
  o = *iodine_trainer_options (tr);
  o.iterations = T;
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  g_assert_no_error (error);
  IodineModel *m = iodine_trainer_model (tr);
  g_assert_cmpstr (iodine_model_metadata (m, "train_history"), ==, "step 0: T 2 → 4");
  g_assert_cmpint (iodine_model_config (m)->iterations, ==, T);
  IodineModel *m4 = iodine_model_new_random (&c, 8, &error);
  g_assert_no_error (error);
  IodineTrainOptions o4 = o;
  IodineTrainer *t4 = iodine_trainer_new (m4, &o4, &error);
  g_assert_no_error (error);
  const size_t neps = (size_t) (T + 1) * B * K * M, n = iodine_trainer_n_floats (tr);
  float *eps = normal_noise (neps, 77), *ga = g_new (float, n), *gb = g_new (float, n);
  double la, lb, l2;
  g_assert_true (iodine_trainer_gradient (tr, images, eps, ga, &la, &error));
  g_assert_true (iodine_trainer_gradient (t4, images, eps, gb, &lb, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (la, ==, lb);
  g_assert_cmpint (memcmp (ga, gb, sizeof (float) * n), ==, 0);
  /* and it is not the T 2 loss */
  o.iterations = 2;
  g_assert_true (iodine_trainer_change_options (t4, &o, &error));
  g_assert_true (iodine_trainer_gradient (t4, images, eps, gb, &l2, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (l2, !=, la);

  /* steps at the new T, through a checkpoint */
  step_on_dataset (tr, ds, images);
  char *path = g_build_filename (tmpdir, "iterations.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, path, NULL, &error));
  g_assert_no_error (error);
  IodineTrainer *back = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (iodine_trainer_options (back)->iterations, ==, T);
  g_assert_cmpint (iodine_model_config (iodine_trainer_model (back))->iterations, ==, T);
  g_assert_cmpstr (iodine_model_metadata (iodine_trainer_model (back), "train_history"), ==,
                   "step 0: T 2 → 4");
  step_on_dataset (tr, ds, images);
  step_on_dataset (back, ds, images);
  g_assert_cmpint (memcmp (iodine_trainer_model (tr)->params,
                           iodine_trainer_model (back)->params, sizeof (float) * n), ==, 0);
  g_unlink (path);
  g_free (path);
  g_free (eps);
  g_free (ga);
  g_free (gb);
  iodine_trainer_free (back);
  iodine_trainer_free (t4);
  iodine_trainer_free (tr);
  iodine_dataset_free (ds);
  g_free (images);
}

/* Setting GECO's λ: refused without GECO and out of range; the next step
 * weights the NLL by exactly that λ, GECO goes on from there (a tiny step
 * holds it, through a checkpoint), and the change is in train_history. */
static void
test_set_geco_lambda (void)
{
  const int B = 2, H = 12, W = 14;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 6);
  float *images = g_new (float, (size_t) B * H * W * 3);
  IodineTrainer *tr = tiny_trainer (&c, B, 6, 0, 0.0, 3e-4);
  g_assert_false (iodine_trainer_set_geco_lambda (tr, 5.0, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "--geco-target"));
  g_clear_error (&error);

  IodineTrainOptions o = *iodine_trainer_options (tr);
  o.geco_target = -1e6;
  o.geco_step = 1e-12;
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  const double bad[] = { 0.5, -3.0, NAN, INFINITY, 2e6 };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (iodine_trainer_set_geco_lambda (tr, bad[i], &error));
      g_assert_nonnull (strstr (error->message, "between 1 and 1e6"));
      g_clear_error (&error);
    }
  IodineStepStats st;
  const double lambdas[] = { 7.64, 1.0, 45.0, 12.0 };
  for (size_t i = 0; i < G_N_ELEMENTS (lambdas); i++)
    {
      g_assert_true (iodine_trainer_set_geco_lambda (tr, lambdas[i], &error));
      g_assert_no_error (error);
      step_with_stats (tr, ds, images, &st);
      /* the net takes it as a float */
      g_assert_cmpfloat_with_epsilon (st.geco_lambda, lambdas[i], 1e-6 * lambdas[i]);
    }
  /* held by the tiny step, through a checkpoint */
  char *path = g_build_filename (tmpdir, "lambda.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, path, NULL, &error));
  iodine_trainer_free (tr);
  tr = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  step_with_stats (tr, ds, images, &st);
  g_assert_cmpfloat_with_epsilon (st.geco_lambda, 12.0, 1e-6);
  const char *history = iodine_model_metadata (iodine_trainer_model (tr), "train_history");
  g_assert_nonnull (strstr (history, "step 0: GECO λ 1 → 7.64; step 1: GECO λ 7.64 → 1; "
                                     "step 2: GECO λ 1 → 45; step 3: GECO λ 45 → 12"));
  g_unlink (path);
  g_free (path);
  iodine_trainer_free (tr);
  iodine_dataset_free (ds);
  g_free (images);
}

/* A curriculum on the image size: the same run goes on at another size with
 * its weights and Adam state, the weights' training size follows (also
 * through a checkpoint), the change is in train_history, and an invalid
 * size is refused with the run unchanged. */
static void
test_change_size (void)
{
  const int B = 2, H = 12, W = 14, H2 = 16, W2 = 10;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = iodine_dataset_new ("tetrominoes", H, W, 6, &error);
  IodineDataset *ds2 = iodine_dataset_new ("tetrominoes", H2, W2, 6, &error);
  g_assert_no_error (error);
  float *images = g_new (float, (size_t) B * H2 * W2 * 3 + (size_t) B * H * W * 3);
  IodineTrainer *tr = tiny_trainer (&c, B, 6, 0, 0.0, 3e-4);
  step_on_dataset (tr, ds, images);
  step_on_dataset (tr, ds, images);
  IodineModel *m = iodine_trainer_model (tr);
  size_t n = m->layout.total;
  float *before = g_memdup2 (m->params, n * sizeof (float));

  g_assert_true (iodine_trainer_change_size (tr, H, W, &error));
  g_assert_null (iodine_model_metadata (m, "train_history"));
  g_assert_false (iodine_trainer_change_size (tr, 1, W2, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (iodine_model_config (m)->height, ==, H);

  g_assert_true (iodine_trainer_change_size (tr, H2, W2, &error));
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (before, m->params, n * sizeof (float)), ==, 0);
  g_assert_cmpint (iodine_model_config (m)->height, ==, H2);
  g_assert_cmpint (iodine_model_config (m)->width, ==, W2);
  g_assert_cmpstr (iodine_model_metadata (m, "train_history"), ==, "step 2: size 14×12 → 10×16");
  IodineStepStats st;
  step_with_stats (tr, ds2, images, &st);
  g_assert_true (isfinite (st.loss));
  g_assert_cmpint (memcmp (before, m->params, n * sizeof (float)), !=, 0);

  char *path = g_build_filename (tmpdir, "resized.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, path, NULL, &error));
  iodine_trainer_free (tr);
  tr = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  m = iodine_trainer_model (tr);
  g_assert_cmpint (iodine_model_config (m)->height, ==, H2);
  g_assert_cmpint (iodine_model_config (m)->width, ==, W2);
  g_assert_cmpstr (iodine_model_metadata (m, "train_history"), ==, "step 2: size 14×12 → 10×16");
  step_with_stats (tr, ds2, images, &st);
  g_assert_true (isfinite (st.loss));
  g_unlink (path);
  g_free (path);
  g_free (before);
  iodine_trainer_free (tr);
  iodine_dataset_free (ds);
  iodine_dataset_free (ds2);
  g_free (images);
}

/* Training loss on a fixed batch with fixed noise (no update). */
static double
fixed_loss (IodineTrainer *tr, const float *images, const float *eps)
{
  GError *error = NULL;
  double loss;
  float *g = g_new (float, iodine_trainer_n_floats (tr));
  g_assert_true (iodine_trainer_gradient (tr, images, eps, g, &loss, &error));
  g_assert_no_error (error);
  g_free (g);
  return loss;
}

/* Overfitting 4 fixed tetrominoes scenes at 20 × 20 for 200 steps (lr 3e-3),
 * the loss Σ_t (t/T)·L_t (batch mean) measured with fixed noise before and
 * after. (With pixel scale 0.03 the loss goes negative once the means fit the
 * colours closely: densities above 1.) Measured (x86-64, OpenBLAS, any core
 * type): 7700.9 → −914.6, a fall of 112 %, in ~2 s of CPU without
 * sanitizers; with other seeds (4, 8, 13, 21) the fall after 200 steps is
 * 80–119 %. Asserted: a fall of at least 60 %, which an optimiser with a
 * wrong sign, a dead learning rate or broken clipping cannot reach. */
static void
test_overfit (void)
{
  const int B = 4, H = 20, W = 20, STEPS = 200, K = 2, T = 2;
  IodineConfig c = tiny_config (H, W);
  c.dec_channels = 8;
  c.ref_channels = 8;
  c.latent = 6;
  c.mlp_sizes[0] = 16;
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 3);
  float *images = first_scenes (ds, B);
  IodineTrainer *tr = tiny_trainer (&c, B, 3, 0, 0.0, 3e-3);
  const size_t neps = (size_t) (T + 1) * B * K * c.latent;
  float *eps = normal_noise (neps, 99);

  gint64 t0 = g_get_monotonic_time ();
  double before = fixed_loss (tr, images, eps);
  for (int s = 0; s < STEPS; s++)
    {
      IodineStepStats st;
      g_assert_true (iodine_trainer_step (tr, images, NULL, &st, &error));
      g_assert_no_error (error);
    }
  double after = fixed_loss (tr, images, eps);
  printf ("overfit: loss %.1f → %.1f after %d steps, %.2f s\n", before, after, STEPS,
          (g_get_monotonic_time () - t0) / 1e6);
  g_assert_true (isfinite (before) && before > 1000.0);
  g_assert_true (isfinite (after));
  g_assert_cmpfloat (after, <, 0.4 * before);

  iodine_trainer_free (tr);
  iodine_dataset_free (ds);
  g_free (images);
  g_free (eps);
}

/* Images with a NaN: the step fails with IODINE_ERROR_NONFINITE, and neither
 * the parameters, the step count nor the Adam state change (a later good
 * step matches that of a twin trainer that never saw the NaN). */
static void
test_nonfinite_step (void)
{
  const int B = 2, H = 10, W = 10, K = 2, T = 2;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 5);
  float *images = first_scenes (ds, B);
  const size_t neps = (size_t) (T + 1) * B * K * c.latent;
  float *eps = normal_noise (neps, 7);

  IodineTrainer *x = tiny_trainer (&c, B, 5, 0, 0.0, 1e-3);
  IodineTrainer *y = tiny_trainer (&c, B, 5, 0, 0.0, 1e-3);
  /* one good step each, so that Adam's moments are not zero */
  g_assert_true (iodine_trainer_step (x, images, eps, NULL, &error));
  g_assert_true (iodine_trainer_step (y, images, eps, NULL, &error));
  g_assert_no_error (error);

  IodineModel *mx = iodine_trainer_model (x);
  size_t n = mx->layout.total;
  float *saved = g_memdup2 (mx->params, sizeof (float) * n);
  float *bad = g_memdup2 (images, sizeof (float) * B * H * W * 3);
  bad[17] = NAN;
  IodineStepStats st;
  g_assert_false (iodine_trainer_step (x, bad, eps, &st, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_NONFINITE);
  printf ("non-finite step: %s\n", error->message);
  g_clear_error (&error);
  g_assert_cmpint (memcmp (saved, mx->params, sizeof (float) * n), ==, 0);
  g_assert_cmpuint (iodine_trainer_step_count (x), ==, 1);
  /* an infinite pixel too */
  bad[17] = INFINITY;
  g_assert_false (iodine_trainer_step (x, bad, eps, &st, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_NONFINITE);
  g_clear_error (&error);
  g_assert_cmpint (memcmp (saved, mx->params, sizeof (float) * n), ==, 0);
  g_assert_cmpuint (iodine_trainer_step_count (x), ==, 1);

  /* the same good step on both: bit-identical */
  g_assert_true (iodine_trainer_step (x, images, eps, NULL, &error));
  g_assert_true (iodine_trainer_step (y, images, eps, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (iodine_trainer_model (y)->params, mx->params, sizeof (float) * n), ==,
                   0);

  g_free (saved);
  g_free (bad);
  g_free (eps);
  g_free (images);
  iodine_trainer_free (x);
  iodine_trainer_free (y);
  iodine_dataset_free (ds);
}

/* A checkpoint holds the weights, adam.m.* and adam.v.* for every parameter
 * and the train.* metadata; a plain weights file is refused by resume with an
 * error that says what is missing. */
static void
test_checkpoint_contents (void)
{
  const int B = 2, H = 8, W = 9;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 21);
  float *images = g_new (float, (size_t) B * H * W * 3);
  IodineTrainer *tr = tiny_trainer (&c, B, 21, 5, 100.0, 2e-4);
  for (int i = 0; i < 2; i++)
    step_on_dataset (tr, ds, images);

  GHashTable *extra = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (extra, "note", "test-trainer");
  char *ckpt = g_build_filename (tmpdir, "meta.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, ckpt, extra, &error));
  g_assert_no_error (error);
  g_hash_table_unref (extra);

  IodineTensorFile *f = iodine_tensor_file_read (ckpt, &error);
  g_assert_no_error (error);
  GHashTable *md = f->metadata;
  g_assert_cmpstr (g_hash_table_lookup (md, "train.step"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (md, "train.batch"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (md, "train.slots"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (md, "train.iterations"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (md, "train.warmup_steps"), ==, "5");
  g_assert_cmpstr (g_hash_table_lookup (md, "train.seed"), ==, "21");
  g_assert_cmpstr (g_hash_table_lookup (md, "train.dataset"), ==, "tetrominoes");
  g_assert_cmpstr (g_hash_table_lookup (md, "note"), ==, "test-trainer");
  const char *keys[] = { "train.lr", "train.decay_half_life", "train.beta1", "train.beta2",
                         "train.adam_eps", "train.clip" };
  const double want[] = { 2e-4, 100.0, 0.95, 0.999, 1e-8, 5.0 };
  for (size_t i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const char *v = g_hash_table_lookup (md, keys[i]);
      g_assert_nonnull (v);
      g_assert_true (g_ascii_strtod (v, NULL) == want[i]); /* %.17g: exact */
    }
  const char *rng = g_hash_table_lookup (md, "train.rng");
  g_assert_nonnull (rng);
  g_assert_cmpuint (strlen (rng), ==, 4 * 16 + 3);
  const ParamLayout *L = &iodine_trainer_model (tr)->layout;
  g_assert_cmpuint (f->tensors->len, ==, 3 * (guint) L->n);
  for (int i = 0; i < L->n; i++)
    {
      char *m = g_strconcat ("adam.m.", L->info[i].name, NULL);
      char *v = g_strconcat ("adam.v.", L->info[i].name, NULL);
      g_assert_nonnull (iodine_tensor_file_get (f, L->info[i].name));
      g_assert_nonnull (iodine_tensor_file_get (f, m));
      const IodineTensor *tv = iodine_tensor_file_get (f, v);
      g_assert_nonnull (tv);
      for (size_t j = 0; j < tv->numel; j++)
        g_assert_true (tv->data[j] >= 0.0f); /* second moments */
      g_free (m);
      g_free (v);
    }
  iodine_tensor_file_free (f);

  /* the checkpoint loads as a model too (the weights part) */
  IodineModel *m = iodine_model_load (ckpt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (m->params, iodine_trainer_model (tr)->params,
                           sizeof (float) * L->total), ==, 0);
  iodine_model_free (m);

  /* a plain weights file: no train.* metadata */
  char *plain = g_build_filename (tmpdir, "plain.safetensors", NULL);
  IodineModel *pm = iodine_model_new_random (&c, 1, &error);
  g_assert_no_error (error);
  g_assert_true (iodine_model_save (pm, plain, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (iodine_trainer_resume (plain, &error));
  g_assert_nonnull (error);
  printf ("resume of plain weights: %s\n", error->message);
  g_assert_true (strstr (error->message, "not a training checkpoint") != NULL);
  g_assert_true (strstr (error->message, plain) != NULL);
  g_clear_error (&error);

  /* train.* metadata but no Adam tensors: refused, naming the missing tensor */
  static const char *const md_keys[]
      = { "train.step", "train.batch", "train.slots", "train.iterations", "train.warmup_steps",
          "train.seed", "train.lr", "train.decay_half_life", "train.beta1", "train.beta2",
          "train.adam_eps", "train.clip", "train.rng", "train.dataset" };
  IodineTensorFile *cf = iodine_tensor_file_read (ckpt, &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < G_N_ELEMENTS (md_keys); i++)
    iodine_model_set_metadata (pm, md_keys[i], g_hash_table_lookup (cf->metadata, md_keys[i]));
  iodine_tensor_file_free (cf);
  g_assert_true (iodine_model_save (pm, plain, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (iodine_trainer_resume (plain, &error));
  g_assert_nonnull (error);
  printf ("resume without Adam tensors: %s\n", error->message);
  g_assert_true (strstr (error->message, "adam.m.") != NULL);
  g_clear_error (&error);

  /* a missing file */
  char *missing = g_build_filename (tmpdir, "does-not-exist.ckpt", NULL);
  g_assert_null (iodine_trainer_resume (missing, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_IO);
  g_clear_error (&error);

  iodine_model_free (pm);
  g_unlink (plain);
  g_unlink (ckpt);
  g_free (plain);
  g_free (ckpt);
  g_free (missing);
  g_free (images);
  iodine_trainer_free (tr);
  iodine_dataset_free (ds);
}

/* Rewrites checkpoint src to dst with one metadata value replaced. */
static void
rewrite_with (const char *src, const char *dst, const char *key, const char *value)
{
  GError *error = NULL;
  IodineTensorFile *f = iodine_tensor_file_read (src, &error);
  g_assert_no_error (error);
  IodineTensorView *views = g_new0 (IodineTensorView, f->tensors->len);
  for (guint i = 0; i < f->tensors->len; i++)
    {
      const IodineTensor *t = g_ptr_array_index (f->tensors, i);
      views[i].name = t->name;
      views[i].ndim = t->ndim;
      memcpy (views[i].shape, t->shape, sizeof (int64_t) * t->ndim);
      views[i].data = t->data;
    }
  g_hash_table_replace (f->metadata, g_strdup (key), g_strdup (value));
  g_assert_true (iodine_tensor_file_write (dst, views, f->tensors->len, f->metadata, &error));
  g_assert_no_error (error);
  g_free (views);
  iodine_tensor_file_free (f);
}

/* Options out of range are refused by new and by resume; malformed training
 * metadata in a checkpoint is refused with a message naming the key. */
static void
test_bad_options_and_metadata (void)
{
  IodineConfig c = tiny_config (8, 8);
  GError *error = NULL;
  IodineTrainOptions o;
  iodine_train_options_init (&o);
  o.slots = 2;
  o.iterations = 2;
  static const char *const bad[] = { "batch 0",  "lr 0",   "lr 1",           "beta1 1",
                                      "clip 0",   "slots 1", "iterations 101", "warmup -1" };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      IodineTrainOptions b = o;
      switch (i)
        {
        case 0: b.batch = 0; break;
        case 1: b.lr = 0.0; break;
        case 2: b.lr = 1.0; break;
        case 3: b.beta1 = 1.0; break;
        case 4: b.clip = 0.0; break;
        case 5: b.slots = 1; break;
        case 6: b.iterations = 101; break;
        case 7: b.warmup_steps = -1; break;
        }
      IodineModel *m = iodine_model_new_random (&c, 1, &error);
      g_assert_no_error (error);
      IodineTrainer *tr = iodine_trainer_new (m, &b, &error);
      if (tr || !g_error_matches (error, IODINE_ERROR, IODINE_ERROR_INVALID))
        g_error ("training options with %s were accepted", bad[i]);
      g_clear_error (&error);
      iodine_model_free (m); /* not taken on failure */
    }
  /* 0 slots and iterations: the model's */
  IodineTrainOptions d = o;
  d.slots = 0;
  d.iterations = 0;
  IodineTrainer *tr = iodine_trainer_new (iodine_model_new_random (&c, 1, NULL), &d, &error);
  g_assert_no_error (error);
  g_assert_cmpint (iodine_trainer_options (tr)->slots, ==, c.slots);
  g_assert_cmpint (iodine_trainer_options (tr)->iterations, ==, c.iterations);

  char *ckpt = g_build_filename (tmpdir, "good.ckpt", NULL);
  char *bad_path = g_build_filename (tmpdir, "bad.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, ckpt, NULL, &error));
  g_assert_no_error (error);
  iodine_trainer_free (tr);
  struct {
    const char *key, *value, *message;
  } md[] = {
    { "train.rng", "12,34", "train.rng" },
    { "train.rng", "zz,0,0,0", "train.rng" },
    { "train.lr", "fast", "train.lr" },
    { "train.step", "-3", "train.step" },
    { "train.batch", "0", "batch size" },
    { "train.beta2", "1.5", "betas" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (md); i++)
    {
      rewrite_with (ckpt, bad_path, md[i].key, md[i].value);
      g_assert_null (iodine_trainer_resume (bad_path, &error));
      g_assert_nonnull (error);
      if (!strstr (error->message, md[i].message))
        g_error ("%s = %s: message “%s” does not mention %s", md[i].key, md[i].value,
                 error->message, md[i].message);
      printf ("%s = %s: %s\n", md[i].key, md[i].value, error->message);
      g_clear_error (&error);
    }
  /* and the unmodified checkpoint still resumes */
  tr = iodine_trainer_resume (ckpt, &error);
  g_assert_no_error (error);
  iodine_trainer_free (tr);
  g_unlink (ckpt);
  g_unlink (bad_path);
  g_free (ckpt);
  g_free (bad_path);
}

/* The moving average of the weights: after each step θ̄ = d·θ̄ + (1 − d)·θ,
 * started at θ; swapping puts it in the model and back; checkpoints carry
 * it, so a resumed run goes on bit for bit; switched on mid-run it starts at
 * that step's weights and is in train_history; a checkpoint without the
 * tensors (one written by the PyTorch reference) starts it again from θ. */
static void
test_weight_average (void)
{
  const int B = 2, H = 10, W = 11;
  IodineConfig c = tiny_config (H, W);
  GError *error = NULL;
  IodineDataset *ds = tetrominoes_at (H, W, 31);
  float *images = g_new (float, (size_t) B * H * W * 3);
  IodineModel *m = iodine_model_new_random (&c, 31, &error);
  g_assert_no_error (error);
  IodineTrainOptions o;
  iodine_train_options_init (&o);
  o.batch = B;
  o.lr = 1e-3;
  o.seed = 31;
  o.average_decay = 0.75;
  g_strlcpy (o.dataset, "tetrominoes", sizeof o.dataset);
  IodineTrainer *tr = iodine_trainer_new (m, &o, &error);
  g_assert_no_error (error);
  g_assert_true (iodine_trainer_has_average (tr));
  const size_t n = m->layout.total;
  float *expect = g_memdup2 (m->params, sizeof (float) * n);
  const float d = 0.75f;
  for (int s = 0; s < 3; s++)
    {
      step_on_dataset (tr, ds, images);
      for (size_t i = 0; i < n; i++)
        expect[i] = d * expect[i] + (1.0f - d) * m->params[i];
    }
  float *theta = g_memdup2 (m->params, sizeof (float) * n);
  g_assert_cmpint (memcmp (expect, theta, sizeof (float) * n), !=, 0);
  iodine_trainer_swap_average (tr);
  g_assert_cmpint (memcmp (m->params, expect, sizeof (float) * n), ==, 0);
  iodine_trainer_swap_average (tr);
  g_assert_cmpint (memcmp (m->params, theta, sizeof (float) * n), ==, 0);

  /* through a checkpoint: the same weights, average and next steps */
  char *path = g_build_filename (tmpdir, "average.ckpt", NULL);
  g_assert_true (iodine_trainer_save_checkpoint (tr, path, NULL, &error));
  g_assert_no_error (error);
  IodineTensorFile *f = iodine_tensor_file_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (f->metadata, "train.average_decay"), ==, "0.75");
  g_assert_cmpuint (f->tensors->len, ==, 4u * (guint) m->layout.n);
  IodineTrainer *back = iodine_trainer_resume (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (iodine_trainer_options (back)->average_decay, ==, 0.75);
  g_assert_null (iodine_model_metadata (iodine_trainer_model (back), "train.average_decay"));
  for (int s = 0; s < 2; s++)
    {
      step_on_dataset (tr, ds, images);
      step_on_dataset (back, ds, images);
    }
  IodineModel *mb = iodine_trainer_model (back);
  g_assert_cmpint (memcmp (m->params, mb->params, sizeof (float) * n), ==, 0);
  iodine_trainer_swap_average (tr);
  iodine_trainer_swap_average (back);
  g_assert_cmpint (memcmp (m->params, mb->params, sizeof (float) * n), ==, 0);
  iodine_trainer_swap_average (tr);
  iodine_trainer_swap_average (back);
  iodine_trainer_free (back);

  /* the same checkpoint without its average.* tensors */
  IodineTensorView *views = g_new0 (IodineTensorView, f->tensors->len);
  guint kept = 0;
  for (guint i = 0; i < f->tensors->len; i++)
    {
      const IodineTensor *t = g_ptr_array_index (f->tensors, i);
      if (g_str_has_prefix (t->name, "average."))
        continue;
      views[kept] = (IodineTensorView) { .name = t->name, .ndim = t->ndim, .data = t->data };
      memcpy (views[kept].shape, t->shape, sizeof (int64_t) * t->ndim);
      kept++;
    }
  char *bare = g_build_filename (tmpdir, "average-bare.ckpt", NULL);
  g_assert_true (iodine_tensor_file_write (bare, views, kept, f->metadata, &error));
  g_assert_no_error (error);
  g_free (views);
  iodine_tensor_file_free (f);
  back = iodine_trainer_resume (bare, &error);
  g_assert_no_error (error);
  mb = iodine_trainer_model (back);
  memcpy (theta, mb->params, sizeof (float) * n);
  iodine_trainer_swap_average (back);
  g_assert_cmpint (memcmp (mb->params, theta, sizeof (float) * n), ==, 0);
  iodine_trainer_swap_average (back);
  iodine_trainer_free (back);
  iodine_trainer_free (tr);

  /* switched on and off in the middle of a run */
  tr = tiny_trainer (&c, B, 32, 0, 0.0, 1e-3);
  m = iodine_trainer_model (tr);
  step_on_dataset (tr, ds, images);
  g_assert_false (iodine_trainer_has_average (tr));
  o = *iodine_trainer_options (tr);
  o.average_decay = 1.0;
  g_assert_false (iodine_trainer_change_options (tr, &o, &error));
  g_assert_error (error, IODINE_ERROR, IODINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "weight average"));
  g_clear_error (&error);
  o.average_decay = 0.5;
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  g_assert_no_error (error);
  g_assert_true (iodine_trainer_has_average (tr));
  memcpy (expect, m->params, sizeof (float) * n);
  step_on_dataset (tr, ds, images);
  for (size_t i = 0; i < n; i++)
    expect[i] = 0.5f * expect[i] + 0.5f * m->params[i];
  iodine_trainer_swap_average (tr);
  g_assert_cmpint (memcmp (m->params, expect, sizeof (float) * n), ==, 0);
  iodine_trainer_swap_average (tr);
  o.average_decay = 0.0;
  g_assert_true (iodine_trainer_change_options (tr, &o, &error));
  g_assert_false (iodine_trainer_has_average (tr));
  memcpy (theta, m->params, sizeof (float) * n);
  iodine_trainer_swap_average (tr); /* nothing to swap */
  g_assert_cmpint (memcmp (m->params, theta, sizeof (float) * n), ==, 0);
  g_assert_cmpstr (iodine_model_metadata (m, "train_history"), ==,
                   "step 1: weight average off → 0.5; step 2: weight average 0.5 → off");
  printf ("weight average: %s\n", iodine_model_metadata (m, "train_history"));

  iodine_trainer_free (tr);
  g_unlink (path);
  g_unlink (bare);
  g_free (path);
  g_free (bare);
  g_free (expect);
  g_free (theta);
  iodine_dataset_free (ds);
  g_free (images);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("test-trainer-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/trainer/resume-bit-exact", test_resume_bit_exact);
  g_test_add_func ("/trainer/overfit", test_overfit);
  g_test_add_func ("/trainer/geco", test_geco);
  g_test_add_func ("/trainer/change-options", test_change_options);
  g_test_add_func ("/trainer/set-geco-lambda", test_set_geco_lambda);
  g_test_add_func ("/trainer/change-iterations", test_change_iterations);
  g_test_add_func ("/trainer/change-batch", test_change_batch);
  g_test_add_func ("/trainer/change-size", test_change_size);
  g_test_add_func ("/trainer/nonfinite-step", test_nonfinite_step);
  g_test_add_func ("/trainer/checkpoint-contents", test_checkpoint_contents);
  g_test_add_func ("/trainer/bad-options-and-metadata", test_bad_options_and_metadata);
  g_test_add_func ("/trainer/weight-average", test_weight_average);
  int rc = g_test_run ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
