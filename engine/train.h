/* Training: the full loss Σ_t (t/T)·L_t over a batch, backpropagated through
 * all iterations, Adam with global-norm clipping, and checkpoints that resume
 * bit for bit (weights, Adam moments, step, noise RNG state, options). */
#ifndef IODINE_TRAIN_H
#define IODINE_TRAIN_H

#include "iodine.h"
#include "rng.h"

typedef struct {
  int batch;
  int slots, iterations;      /* K and T used in training */
  double lr;                  /* peak learning rate */
  int warmup_steps;           /* linear warm-up from 0 (0: none) */
  double decay_half_life;     /* lr × 0.5^(step / half-life) after warm-up; 0: none */
  double beta1, beta2, adam_eps;
  double clip;                /* global gradient-norm bound */
  /* GECO (Rezende & Viola 2018, as EfficientMORL uses it for IODINE-like
   * models): minimise the KL under the constraint NLL ≤ target by weighting
   * the NLL with λ = max(1, softplus(ζ)), ζ ← ζ + step · EMA_α(NLL_T − target).
   * NAN target: off (the spec's ELBO). */
  double geco_target;         /* nats per image */
  double geco_alpha, geco_step;
  /* A moving average of the weights (Polyak averaging): after each step
   * θ̄ ← d·θ̄ + (1 − d)·θ, started at θ when it is switched on. Checkpoint-to-
   * checkpoint FG-ARI varies by several points at a constant learning rate;
   * the average smooths that noise away. Validation and the shipped weights
   * use θ̄, training goes on with θ. 0: off. */
  double average_decay;
  uint64_t seed;              /* data order and noise */
  char dataset[512];          /* dataset spec, for resuming and provenance */
} IodineTrainOptions;

void iodine_train_options_init (IodineTrainOptions *o);

typedef struct {
  double loss;                /* Σ_t (t/T)·L_t, batch mean */
  double nll, kl;             /* final iteration's terms, batch mean */
  double grad_norm;           /* before clipping */
  double lr;
  double geco_lambda;         /* the NLL weight used in this step (1 without GECO) */
} IodineStepStats;

typedef struct IodineTrainer IodineTrainer;

/* Takes ownership of model. */
IodineTrainer *iodine_trainer_new (IodineModel *model, const IodineTrainOptions *options,
                                   GError **error);
/* Restores model, Adam state, step, RNG and options from a checkpoint. */
IodineTrainer *iodine_trainer_resume (const char *checkpoint, GError **error);
/* Changes, from the next step on, what may change in the middle of a run: the
 * learning rate and its schedule (warm-up and half-life still count from
 * step 0), the clipping bound, GECO (switched on: λ starts at 1), a
 * dataset's curriculum options (tetrominoes ↔ tetrominoes:touching=P),
 * the batch size (the data go on where the old size stopped) and the
 * iterations T (a curriculum on T, or training with the T used at test
 * time; the weights do not depend on T). What defines the run — K, seed,
 * the dataset drawn from, Adam's β and ε — must stay, or it fails naming
 * the field. Each change is appended to the model's
 * "train_history" metadata, which the shipped weights keep. */
gboolean iodine_trainer_change_options (IodineTrainer *tr, const IodineTrainOptions *o,
                                        GError **error);
/* Sets GECO's NLL weight λ (1 to 1e6) from the next step on, where GECO
 * would otherwise take hundreds of steps to get there; GECO then goes on from
 * that value (a tiny geco_step holds it). Fails when GECO is off. Appended to
 * "train_history". */
gboolean iodine_trainer_set_geco_lambda (IodineTrainer *tr, double lambda, GError **error);
/* Whether the run keeps a moving average of its weights (average_decay > 0). */
gboolean iodine_trainer_has_average (const IodineTrainer *tr);
/* Exchanges the model's weights with their moving average, in place: after
 * one call the model (evaluation, saving) holds the average, after a second
 * the training weights again. No effect without an average. Steps and
 * checkpoints need the training weights in the model. */
void iodine_trainer_swap_average (IodineTrainer *tr);
/* Trains at height × width from the next step on (a curriculum on the
 * image size: the model is resolution-independent, so its weights and Adam
 * state carry over; the data are the same scenes drawn at the new size).
 * The weights' training size follows; the change is appended to
 * "train_history". The same size is no change. */
gboolean iodine_trainer_change_size (IodineTrainer *tr, int height, int width, GError **error);
void iodine_trainer_free (IodineTrainer *tr);

IodineModel *iodine_trainer_model (IodineTrainer *tr);
const IodineTrainOptions *iodine_trainer_options (const IodineTrainer *tr);
uint64_t iodine_trainer_step_count (const IodineTrainer *tr);
/* Index of the first dataset sample of the next batch (step · batch, until
 * the batch size changes). */
uint64_t iodine_trainer_next_sample (const IodineTrainer *tr);

/* One optimisation step on images [B, H, W, 3]. eps [T+1, B, K, M] fixes the
 * noise (tests); NULL draws it from the trainer's RNG. A non-finite loss or
 * gradient leaves the parameters untouched and fails (IODINE_ERROR_NONFINITE). */
gboolean iodine_trainer_step (IodineTrainer *tr, const float *images, const float *eps,
                              IodineStepStats *stats, GError **error);
/* Gradient of the training loss alone, no update (tests): grads has
 * iodine_trainer_n_floats() floats in the engine's layout. */
gboolean iodine_trainer_gradient (IodineTrainer *tr, const float *images, const float *eps,
                                  float *grads, double *loss, GError **error);
size_t iodine_trainer_n_floats (const IodineTrainer *tr);

/* Atomic checkpoint (weights + adam.m.* + adam.v.* [+ average.* of the
 * weights] + train.* metadata). */
gboolean iodine_trainer_save_checkpoint (IodineTrainer *tr, const char *path,
                                         GHashTable *extra_metadata, GError **error);

#endif
