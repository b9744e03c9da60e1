/* iodine-train: trains IODINE weights on generated datasets or a folder of
 * images, with validation FG-ARI, CSV logs, curves and exact checkpoints. */
#include "cli-common.h"
#include "dataset.h"
#include "evaluate.h"
#include "iodine.h"
#include "plot.h"
#include "sheet.h"
#include "train.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *PROG = "iodine-train";
static volatile sig_atomic_t stop_signal = 0;

static void
on_signal (int sig)
{
  stop_signal = sig;
}

typedef struct {
  char *config, *dataset, *out, *log, *plot, *checkpoint, *resume, *init, *sheet, *size;
  char *mlp, *coords;
  gint64 steps, seed;
  int batch, warmup, validate_every, val_count, checkpoint_every, log_every, threads,
      out_iterations;
  double lr, half_life, pixel_scale, clip, geco_target, geco_alpha, geco_step, geco_lambda,
      average_decay;
  int slots, iterations, latent, dec_layers, dec_channels, dec_kernel, ref_layers,
      ref_channels, ref_kernel, lstm;
} Args;

/* The strings GOption stored, freed when main returns (whichever return). */
static void
args_clear (Args *a)
{
  char **strings[] = { &a->config, &a->dataset, &a->out, &a->log, &a->plot, &a->checkpoint,
                       &a->resume, &a->init, &a->sheet, &a->size, &a->mlp, &a->coords };
  for (size_t i = 0; i < G_N_ELEMENTS (strings); i++)
    g_clear_pointer (strings[i], g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Args, args_clear)

/* --size, for a new run (apply_overrides) and a resumed one alike. */
static gboolean
parse_size_option (const char *size, int *width, int *height, GError **error)
{
  if (cli_parse_size (size, width, height))
    return TRUE;
  g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
               "--size must be WIDTHxHEIGHT between 2 and 4096, not “%s”", size);
  return FALSE;
}

static gboolean
apply_overrides (const Args *a, IodineConfig *c, GError **error)
{
#define OVR(field, v) if ((v) > 0) c->field = (v)
  OVR (slots, a->slots);
  OVR (iterations, a->iterations);
  OVR (latent, a->latent);
  OVR (dec_layers, a->dec_layers);
  OVR (dec_channels, a->dec_channels);
  OVR (dec_kernel, a->dec_kernel);
  OVR (ref_layers, a->ref_layers);
  OVR (ref_channels, a->ref_channels);
  OVR (ref_kernel, a->ref_kernel);
#undef OVR
  if (a->lstm >= 0)
    c->lstm_hidden = a->lstm;
  if (a->pixel_scale > 0.0)
    c->pixel_scale = (float) a->pixel_scale;
  if (a->coords)
    {
      if (strcmp (a->coords, "cos3") == 0)
        c->coords = IODINE_COORDS_COS3;
      else if (strcmp (a->coords, "linear") == 0)
        c->coords = IODINE_COORDS_LINEAR;
      else
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                       "--coords must be cos3 or linear, not “%s”", a->coords);
          return FALSE;
        }
    }
  if (a->mlp)
    {
      char **parts = g_strsplit (a->mlp, ",", -1);
      int n = (int) g_strv_length (parts);
      gboolean ok = n >= 1 && n <= IODINE_MAX_MLP;
      for (int i = 0; ok && i < n; i++)
        {
          char *end;
          long v = strtol (parts[i], &end, 10);
          ok = end != parts[i] && *end == '\0' && v > 0 && v <= 8192;
          c->mlp_sizes[i] = (int) v;
        }
      g_strfreev (parts);
      if (!ok)
        {
          g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                       "--mlp must be 1 to %d comma-separated sizes, not “%s”", IODINE_MAX_MLP,
                       a->mlp);
          return FALSE;
        }
      c->mlp_layers = n;
    }
  if (a->size && !parse_size_option (a->size, &c->width, &c->height, error))
    return FALSE;
  return iodine_config_validate (c, error);
}

/* The options a run may change when it is resumed (iodine_trainer_change_options):
 * those given on the command line replace o's. */
static void
apply_schedule_options (const Args *a, IodineTrainOptions *o)
{
  if (a->lr > 0)
    o->lr = a->lr;
  if (a->warmup >= 0)
    o->warmup_steps = a->warmup;
  if (!isnan (a->half_life))
    o->decay_half_life = a->half_life;
  if (!isnan (a->clip))
    o->clip = a->clip;
  if (!isnan (a->geco_target))
    o->geco_target = a->geco_target;
  if (!isnan (a->geco_alpha))
    o->geco_alpha = a->geco_alpha;
  if (!isnan (a->geco_step))
    o->geco_step = a->geco_step;
  if (!isnan (a->average_decay))
    o->average_decay = a->average_decay;
  if (a->iterations != CLI_UNSET)
    o->iterations = a->iterations;
}

static const char *
default_dataset (const char *config)
{
  if (g_strcmp0 (config, "tetrominoes") == 0)
    return "tetrominoes";
  if (g_strcmp0 (config, "multi-dsprites") == 0)
    return "multi-dsprites";
  if (g_strcmp0 (config, "general") == 0)
    return "scenes";
  return NULL;
}

/* A trainer killed while writing a checkpoint leaves its temporary file
 * (CKPT.tmp-XXXXXX, see iodine_tensor_file_write) beside the intact
 * checkpoint; nobody else writes there, so the next run removes them. */
static void
remove_stale_temporaries (const char *checkpoint)
{
  char *dir = g_path_get_dirname (checkpoint);
  char *base = g_path_get_basename (checkpoint);
  char *prefix = g_strconcat (base, ".tmp-", NULL);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_prefix (name, prefix) && strlen (name) == strlen (prefix) + 6)
      {
        char *path = g_build_filename (dir, name, NULL);
        if (g_unlink (path) == 0)
          fprintf (stderr, "%s: removed %s, left by an interrupted checkpoint write\n", PROG, path);
        g_free (path);
      }
  if (d)
    g_dir_close (d);
  g_free (prefix);
  g_free (base);
  g_free (dir);
}

static void
format_duration (char *buf, size_t n, double s)
{
  if (!isfinite (s) || s < 0)
    s = 0;
  long t = (long) s;
  g_snprintf (buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

/* wall-clock seconds of training before this process, from the checkpoint */
static double base_wall_s;
static gint64 start_us;

static void
set_provenance (IodineModel *m, const IodineTrainer *tr, double fg_ari)
{
  const IodineTrainOptions *o = iodine_trainer_options (tr);
  char buf[256];
  /* what the weights model (eval's default, the dialog's "Trained on");
   * a curriculum's options stay in train.dataset and train_history */
  g_autofree char *base = iodine_dataset_base_spec (o->dataset);
  iodine_model_set_metadata (m, "dataset", base);
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, (guint64) iodine_trainer_step_count (tr));
  iodine_model_set_metadata (m, "train_steps", buf);
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, (guint64) o->seed);
  iodine_model_set_metadata (m, "train_seed", buf);
  g_snprintf (buf, sizeof buf, "batch %d, lr %g, warm-up %d, half-life %g, K %d, T %d%s",
              o->batch, o->lr, o->warmup_steps, o->decay_half_life, o->slots, o->iterations,
              isnan (o->geco_target) ? "" : ", GECO");
  if (!isnan (o->geco_target))
    {
      size_t len = strlen (buf);
      g_snprintf (buf + len, sizeof buf - len, " target %g α %g step %g", o->geco_target,
                  o->geco_alpha, o->geco_step);
    }
  if (o->average_decay > 0.0)
    {
      size_t len = strlen (buf);
      g_snprintf (buf + len, sizeof buf - len, ", weight average %g", o->average_decay);
    }
  iodine_model_set_metadata (m, "train_options", buf);
  g_snprintf (buf, sizeof buf, "%.0f", base_wall_s + (g_get_monotonic_time () - start_us) / 1e6);
  iodine_model_set_metadata (m, "train_wall_s", buf);
  if (!isnan (fg_ari))
    {
      g_snprintf (buf, sizeof buf, "%.4f", fg_ari);
      iodine_model_set_metadata (m, "fg_ari", buf);
    }
}

static gboolean
write_checkpoint (IodineTrainer *tr, const char *path, double fg_ari, GError **error)
{
  set_provenance (iodine_trainer_model (tr), tr, fg_ari);
  return iodine_trainer_save_checkpoint (tr, path, NULL, error);
}

/* out_iterations > 0: the T the written weights run with by default (the
 * paper's Fig. 8: a model trained with T iterations segments better at
 * test time with up to two or three times as many) */
static gboolean
write_weights (IodineTrainer *tr, const char *path, double fg_ari, int out_iterations,
               GError **error)
{
  IodineModel *m = iodine_trainer_model (tr);
  if (!iodine_model_set_defaults (m, 0, 0, 0, out_iterations, error))
    return FALSE;
  set_provenance (m, tr, fg_ari);
  iodine_model_remove_metadata_prefix (m, "train.");
  /* what is shipped is the average, when the run keeps one (train_options
   * then says "weight average D") */
  iodine_trainer_swap_average (tr);
  gboolean ok = iodine_model_save (m, path, NULL, error);
  iodine_trainer_swap_average (tr);
  return ok;
}

int
main (int argc, char **argv)
{
  iodine_blas_prefer_fast_kernels (argv);
  g_auto (Args) a = { 0 };
  a.steps = 1000;
  a.lr = 0;
  a.validate_every = 0;
  a.val_count = 64;
  a.checkpoint_every = 100;
  a.log_every = 10;
  a.lstm = -1;
  /* 0 is refused for these rather than taken for "the default" */
  a.slots = a.iterations = a.latent = a.dec_layers = a.dec_channels = a.dec_kernel = CLI_UNSET;
  a.ref_layers = a.ref_channels = a.ref_kernel = a.batch = a.out_iterations = CLI_UNSET;
  a.seed = G_MININT64; /* unset: 1 */
  /* unset (NAN, -1) unless given, so that a resumed run changes only what
   * the command line names */
  a.warmup = -1;
  a.half_life = a.clip = a.geco_target = a.geco_alpha = a.geco_step = a.geco_lambda = NAN;
  a.average_decay = NAN;
  GOptionEntry entries[] = {
    { "config", 0, 0, G_OPTION_ARG_STRING, &a.config, "Architecture: tetrominoes (default), multi-dsprites, clevr or general", "NAME" },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &a.dataset, "tetrominoes, multi-dsprites, multi-dsprites-binarized, scenes or images:DIR (default: the config's); "
      "tetrominoes:touching=P,same-colour=P draws those shares of scenes among the hard ones (validation stays on tetrominoes)", "SPEC" },
    { "steps", 0, 0, G_OPTION_ARG_INT64, &a.steps, "Train until this step count (total, also when resuming; default 1000)", "N" },
    /* with --resume, --lr to --average-decay change the run from its next step on */
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.batch, "Batch size (default: the config's, 32 or 16)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr, "Peak learning rate (default 3e-4)", "X" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &a.warmup, "Linear learning-rate warm-up over N steps", "N" },
    { "lr-half-life", 0, 0, G_OPTION_ARG_DOUBLE, &a.half_life, "Halve the learning rate every N steps (default: constant)", "N" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &a.clip, "Global gradient-norm bound (default 5)", "X" },
    { "geco-target", 0, 0, G_OPTION_ARG_DOUBLE, &a.geco_target, "GECO: keep the final NLL per image at most X nats, weighting it by a learned λ ≥ 1 (default: off, the plain ELBO)", "X" },
    { "geco-alpha", 0, 0, G_OPTION_ARG_DOUBLE, &a.geco_alpha, "GECO: EMA factor of the constraint (default 0.99)", "A" },
    { "geco-step", 0, 0, G_OPTION_ARG_DOUBLE, &a.geco_step, "GECO: step of λ's parameter per nat of constraint (default 1e-6)", "S" },
    { "geco-lambda", 0, 0, G_OPTION_ARG_DOUBLE, &a.geco_lambda, "GECO: set λ to L from the next step on, GECO going on from there (a tiny --geco-step holds it)", "L" },
    { "average-decay", 0, 0, G_OPTION_ARG_DOUBLE, &a.average_decay, "Validate and write --out with a moving average of the weights, decay D per step (e.g. 0.999; default 0: off)", "D" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Seed of initialisation, data and noise (default 1)", "S" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Write the trained weights (no optimizer state) here", "FILE" },
    { "out-iterations", 0, 0, G_OPTION_ARG_INT, &a.out_iterations, "The iterations T that the --out weights run with by default (default: the training T)", "T" },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &a.log, "Append a CSV row every --log-every steps", "FILE.csv" },
    { "log-every", 0, 0, G_OPTION_ARG_INT, &a.log_every, "Steps between log rows (default 10)", "N" },
    { "validate-every", 0, 0, G_OPTION_ARG_INT, &a.validate_every, "Compute validation FG-ARI every N steps", "N" },
    { "val-count", 0, 0, G_OPTION_ARG_INT, &a.val_count, "Validation images (default 64)", "N" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &a.plot, "Draw loss and FG-ARI curves from the log to this PNG at each validation", "FILE.png" },
    { "sheet", 0, 0, G_OPTION_ARG_FILENAME, &a.sheet, "Write an overview sheet of validation examples at each validation", "FILE.png" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &a.checkpoint, "Checkpoint file (weights, Adam state, step, RNG)", "FILE" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &a.checkpoint_every, "Steps between checkpoints (default 100)", "N" },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &a.resume, "Continue exactly from this checkpoint", "FILE" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &a.init, "Start from these weights (fine-tuning) instead of random ones", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &a.threads, "OpenBLAS threads (default: all cores)", "N" },
    { "slots", 0, 0, G_OPTION_ARG_INT, &a.slots, "K", "K" },
    { "iterations", 0, 0, G_OPTION_ARG_INT, &a.iterations, "T (with --resume: from the next step on)", "T" },
    { "latent", 0, 0, G_OPTION_ARG_INT, &a.latent, "Latent size M", "M" },
    { "dec-layers", 0, 0, G_OPTION_ARG_INT, &a.dec_layers, "Decoder hidden convs", "N" },
    { "dec-channels", 0, 0, G_OPTION_ARG_INT, &a.dec_channels, "Decoder channels", "C" },
    { "dec-kernel", 0, 0, G_OPTION_ARG_INT, &a.dec_kernel, "Decoder kernel size", "K" },
    { "ref-layers", 0, 0, G_OPTION_ARG_INT, &a.ref_layers, "Refinement convs", "N" },
    { "ref-channels", 0, 0, G_OPTION_ARG_INT, &a.ref_channels, "Refinement channels", "C" },
    { "ref-kernel", 0, 0, G_OPTION_ARG_INT, &a.ref_kernel, "Refinement kernel size", "K" },
    { "mlp", 0, 0, G_OPTION_ARG_STRING, &a.mlp, "MLP sizes, e.g. 128 or 256,256", "SIZES" },
    { "lstm", 0, 0, G_OPTION_ARG_INT, &a.lstm, "LSTM size (0: none)", "H" },
    { "coords", 0, 0, G_OPTION_ARG_STRING, &a.coords, "Refinement coordinates: cos3 or linear", "KIND" },
    { "pixel-scale", 0, 0, G_OPTION_ARG_DOUBLE, &a.pixel_scale, "Logistic scale of the likelihood (default 0.03)", "S" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &a.size, "Training image size (with --resume: from the next step on)", "WxH" },
    { NULL }
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("— train IODINE weights");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  iodine-train --config tetrominoes --steps 20000 --checkpoint run.ckpt \\\n"
      "      --log run.csv --validate-every 500 --out tetrominoes.safetensors\n"
      "  iodine-train --resume run.ckpt --steps 40000 --checkpoint run.ckpt --out t.safetensors\n"
      "  iodine-train --resume run.ckpt --steps 60000 --lr 1e-4 --geco-target -7500 --checkpoint run.ckpt\n"
      "  iodine-train --resume run.ckpt --steps 80000 --dataset tetrominoes:touching=0.3 --checkpoint run.ckpt\n"
      "  iodine-train --resume run.ckpt --steps 90000 --geco-lambda 8 --geco-step 1e-9 --checkpoint run.ckpt\n"
      "\nWith --resume, --lr, --warmup, --lr-half-life, --clip, --geco-*, --average-decay,\n"
      "--size, --batch, --iterations and a dataset's options (--dataset tetrominoes:…) change the run "
      "from its next step on (warm-up and half-life count from step 0); each change is\n"
      "kept in the weights' train_history metadata.\n"
      "\nSIGINT or SIGTERM finish the current step, write the checkpoint and exit.\n"
      "Exit status: 0 done, 1 runtime error, 2 bad usage or input, 130/143 interrupted.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_option_context_free (ctx);
      int code = cli_usage (PROG, "%s", error->message);
      g_error_free (error);
      return code;
    }
  g_option_context_free (ctx);
  if (argc > 1)
    return cli_usage (PROG, "unexpected argument “%s”", argv[1]);
  if (a.out_iterations != CLI_UNSET && (a.out_iterations < 1 || a.out_iterations > IODINE_MAX_ITERATIONS))
    return cli_usage (PROG, "--out-iterations must be between 1 and %d, not %d",
                      IODINE_MAX_ITERATIONS, a.out_iterations);
  if (a.steps < 0 || a.steps > G_MAXINT)
    return cli_usage (PROG, "--steps must be between 0 and %d", G_MAXINT);
  if (a.log_every < 1 || a.checkpoint_every < 1 || a.validate_every < 0 || a.val_count < 1
      || a.val_count > 100000 || a.threads < 0 || a.threads > 256)
    return cli_usage (PROG, "--log-every, --checkpoint-every and --val-count must be positive, "
                            "--validate-every and --threads not negative");
  const struct { const char *name; int value; } positive[] = {
    { "--slots", a.slots }, { "--iterations", a.iterations }, { "--latent", a.latent },
    { "--dec-layers", a.dec_layers }, { "--dec-channels", a.dec_channels },
    { "--dec-kernel", a.dec_kernel }, { "--ref-layers", a.ref_layers },
    { "--ref-channels", a.ref_channels }, { "--ref-kernel", a.ref_kernel },
    { "--batch", a.batch },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (positive); i++)
    if (positive[i].value != CLI_UNSET && positive[i].value < 1)
      return cli_usage (PROG, "%s must be positive, not %d", positive[i].name, positive[i].value);
  /* Every file is checked before training, not when it is first written
   * hours later. */
  const struct { const char *name; const char *path; } outputs[] = {
    { "--out", a.out }, { "--checkpoint", a.checkpoint }, { "--log", a.log },
    { "--plot", a.plot }, { "--sheet", a.sheet },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (outputs); i++)
    if (outputs[i].path && !cli_check_output (PROG, outputs[i].name, outputs[i].path))
      return CLI_USAGE_ERROR;
  gboolean seed_given = a.seed != G_MININT64;
  if (!seed_given)
    a.seed = 1;
  /* options that change the weights' shapes, and with them all that
   * defines an architecture */
  gboolean shape_given = a.latent != CLI_UNSET || a.dec_layers != CLI_UNSET
                         || a.dec_channels != CLI_UNSET || a.dec_kernel != CLI_UNSET
                         || a.ref_layers != CLI_UNSET || a.ref_channels != CLI_UNSET
                         || a.ref_kernel != CLI_UNSET || a.lstm >= 0 || a.mlp || a.coords
                         || a.pixel_scale > 0.0;
  if (a.resume && (a.init || a.config || seed_given || shape_given || a.slots != CLI_UNSET))
    return cli_usage (PROG, "--resume continues a run; it cannot be combined with --config, "
                            "--init, --seed or architecture options, which "
                            "define a run (the learning rate, its schedule, --clip, GECO, the weight average, "
                            "--size, --batch, --iterations and a dataset's curriculum options may change)");
  iodine_blas_set_threads (a.threads);

  IodineTrainer *tr = NULL;
  if (a.resume)
    {
      tr = iodine_trainer_resume (a.resume, &error);
      if (!tr)
        return cli_fail (PROG, error);
      IodineTrainOptions o = *iodine_trainer_options (tr);
      apply_schedule_options (&a, &o);
      if (a.dataset)
        g_strlcpy (o.dataset, a.dataset, sizeof o.dataset);
      if (a.batch != CLI_UNSET)
        o.batch = a.batch;
      int size_w = 0, size_h = 0;
      if ((a.size && !parse_size_option (a.size, &size_w, &size_h, &error))
          || !iodine_trainer_change_options (tr, &o, &error)
          || (a.size && !iodine_trainer_change_size (tr, size_h, size_w, &error))
          || (!isnan (a.geco_lambda) && !iodine_trainer_set_geco_lambda (tr, a.geco_lambda, &error)))
        {
          iodine_trainer_free (tr);
          return cli_fail (PROG, error);
        }
    }
  else
    {
      IodineModel *model = NULL;
      IodineConfig cfg;
      const char *config = a.config ? a.config : "tetrominoes";
      if (a.init)
        {
          /* the weights fix the architecture; the model is resolution- and
           * K-independent, so size, K and T may change */
          if (shape_given)
            return cli_usage (PROG, "--init takes the architecture from its weights; only "
                                    "--size, --slots and --iterations may change it");
          model = iodine_model_load (a.init, &error);
          if (!model)
            return cli_fail (PROG, error);
          /* the lineage: what the run started from (kept in its weights) */
          const char *from_ds = iodine_model_metadata (model, "dataset");
          const char *from_steps = iodine_model_metadata (model, "train_steps");
          g_autofree char *base = g_path_get_basename (a.init);
          g_autofree char *lineage = g_strdup_printf ("%s (%s, %s steps)", base,
                                                      from_ds ? from_ds : "unknown dataset",
                                                      from_steps ? from_steps : "unknown");
          /* this run's provenance starts afresh: its steps, time, options
           * (train_*, train.*) and FG-ARI */
          iodine_model_remove_metadata_prefix (model, "train");
          iodine_model_remove_metadata_prefix (model, "fg_ari");
          iodine_model_set_metadata (model, "init_weights", lineage);
          /* only --size, --slots and --iterations can be among the overrides */
          IodineConfig tuned = *iodine_model_config (model);
          if (!apply_overrides (&a, &tuned, &error)
              || !iodine_model_set_defaults (model, tuned.height, tuned.width, tuned.slots,
                                             tuned.iterations, &error))
            {
              iodine_model_free (model);
              return cli_fail (PROG, error);
            }
          cfg = *iodine_model_config (model);
        }
      else
        {
          if (!iodine_config_preset (config, &cfg, &error) || !apply_overrides (&a, &cfg, &error))
            return cli_fail (PROG, error);
          model = iodine_model_new_random (&cfg, (uint64_t) a.seed, &error);
          if (!model)
            return cli_fail (PROG, error);
        }
      const char *dataset = a.dataset ? a.dataset : default_dataset (config);
      if (!dataset)
        {
          iodine_model_free (model);
          return cli_usage (PROG, "the %s configuration has no generated dataset; give --dataset images:DIR", config);
        }
      IodineTrainOptions o;
      iodine_train_options_init (&o);
      o.batch = a.batch > 0 ? a.batch : (g_strcmp0 (config, "multi-dsprites") == 0 ? 16 : 32);
      o.lr = a.lr > 0 ? a.lr : 3e-4;
      apply_schedule_options (&a, &o);
      o.seed = (uint64_t) a.seed;
      o.slots = a.slots > 0 ? a.slots : cfg.slots;
      o.iterations = a.iterations > 0 ? a.iterations : cfg.iterations;
      g_strlcpy (o.dataset, dataset, sizeof o.dataset);
      tr = iodine_trainer_new (model, &o, &error);
      if (!tr)
        {
          iodine_model_free (model);
          return cli_fail (PROG, error);
        }
      if (!isnan (a.geco_lambda) && !iodine_trainer_set_geco_lambda (tr, a.geco_lambda, &error))
        {
          iodine_trainer_free (tr);
          return cli_fail (PROG, error);
        }
    }
  const IodineTrainOptions *o = iodine_trainer_options (tr);
  IodineModel *model = iodine_trainer_model (tr);
  const IodineConfig *cfg = iodine_model_config (model);
  IodineDataset *ds = iodine_dataset_new (o->dataset, cfg->height, cfg->width, o->seed, &error);
  if (!ds)
    {
      iodine_trainer_free (tr);
      return cli_fail (PROG, error);
    }
  /* validation scenes come from a stream the training never reads */
  IodineDataset *val = NULL;
  if (a.validate_every > 0 && iodine_dataset_has_labels (ds))
    {
      /* of the dataset itself, so that a curriculum on its hard scenes
       * does not change what the curve measures */
      g_autofree char *base = iodine_dataset_base_spec (o->dataset);
      val = iodine_dataset_new (base, cfg->height, cfg->width, o->seed ^ 0x5a17ULL << 32, &error);
      if (!val)
        {
          iodine_dataset_free (ds);
          iodine_trainer_free (tr);
          return cli_fail (PROG, error);
        }
    }

  FILE *log = NULL;
  if (a.log)
    {
      gboolean fresh = !g_file_test (a.log, G_FILE_TEST_EXISTS) || !a.resume;
      log = fopen (a.log, fresh ? "w" : "a");
      if (!log)
        {
          fprintf (stderr, "%s: cannot write the log %s: %s\n", PROG, a.log, g_strerror (errno));
          iodine_dataset_free (ds);
          iodine_dataset_free (val);
          iodine_trainer_free (tr);
          return CLI_USAGE_ERROR;
        }
      if (fresh)
        fprintf (log, "step,loss,nll,kl,grad_norm,images_per_s,val_fg_ari,val_mse,lr,elapsed_s,val_purity,geco_lambda\n");
      fflush (log);
    }

  if (a.checkpoint)
    remove_stale_temporaries (a.checkpoint);
  struct sigaction sa = { 0 };
  sa.sa_handler = on_signal;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);

  const int B = o->batch, H = cfg->height, W = cfg->width;
  float *images = g_new (float, (size_t) B * H * W * 3);
  int status = CLI_OK;
  double last_ari = NAN;
  /* a resumed run goes on showing its last validation; weights given to
   * --init were validated on another run */
  const char *last = a.resume ? iodine_model_metadata (model, "fg_ari") : NULL;
  if (last)
    last_ari = g_ascii_strtod (last, NULL);
  gboolean tty = cli_is_terminal ();
  gint64 start = g_get_monotonic_time ();
  start_us = start;
  const char *wall = a.resume ? iodine_model_metadata (model, "train_wall_s") : NULL;
  base_wall_s = wall ? g_ascii_strtod (wall, NULL) : 0.0;
  guint64 start_step = iodine_trainer_step_count (tr);
  double ips = 0.0;
  fprintf (stderr, "%s: %s, %zu parameters, batch %d, K %d, T %d, %d×%d, from step %" G_GUINT64_FORMAT " to %" G_GINT64_FORMAT "\n",
           PROG, o->dataset, iodine_model_n_params (model), B, o->slots, o->iterations, W, H,
           start_step, a.steps);
  while ((gint64) iodine_trainer_step_count (tr) < a.steps && !stop_signal)
    {
      gint64 t0 = g_get_monotonic_time ();
      uint64_t first = iodine_trainer_next_sample (tr);
      gboolean ok = TRUE;
      for (int b = 0; b < B && ok; b++)
        ok = iodine_dataset_get (ds, first + b, images + (size_t) b * H * W * 3, NULL, &error);
      IodineStepStats st;
      if (!ok || !iodine_trainer_step (tr, images, NULL, &st, &error))
        {
          status = cli_fail (PROG, error);
          error = NULL;
          status = CLI_RUNTIME_ERROR;
          fprintf (stderr, "%s: stopped; the last checkpoint%s%s is kept\n", PROG,
                   a.checkpoint ? " " : "", a.checkpoint ? a.checkpoint : "");
          break;
        }
      double dt = (g_get_monotonic_time () - t0) / 1e6;
      ips = ips == 0.0 ? B / dt : 0.9 * ips + 0.1 * B / dt;
      guint64 step = iodine_trainer_step_count (tr);
      double val_ari = NAN, val_mse = NAN, val_purity = NAN;
      if (val && step % a.validate_every == 0)
        {
          IodineEvalStats es;
          IodineResult *keep[4] = { 0 };
          /* validated is what would be shipped: the average, if kept */
          iodine_trainer_swap_average (tr);
          gboolean evaluated = iodine_evaluate (model, val, 0, a.val_count, o->slots,
                                                o->iterations, 1, &es, NULL, a.sheet ? keep : NULL,
                                                a.sheet ? 4 : 0, &error);
          iodine_trainer_swap_average (tr);
          if (!evaluated)
            {
              status = cli_fail (PROG, error);
              error = NULL;
              break;
            }
          val_ari = last_ari = es.ari_mean;
          val_mse = es.mse_mean;
          val_purity = es.purity_mean;
          if (a.sheet)
            {
              if (!iodine_sheet_write (a.sheet, keep, 4, 3, &error))
                {
                  fprintf (stderr, "%s: %s\n", PROG, error->message);
                  g_clear_error (&error);
                }
              for (int i = 0; i < 4; i++)
                iodine_result_free (keep[i]);
            }
        }
      double elapsed = base_wall_s + (g_get_monotonic_time () - start) / 1e6;
      if (log && (step % a.log_every == 0 || !isnan (val_ari)))
        {
          fprintf (log, "%" G_GUINT64_FORMAT ",%.3f,%.3f,%.3f,%.4f,%.3f,", step, st.loss, st.nll,
                   st.kl, st.grad_norm, ips);
          if (!isnan (val_ari))
            fprintf (log, "%.5f,%.6f", val_ari, val_mse);
          else
            fprintf (log, ",");
          fprintf (log, ",%.6g,%.1f,", st.lr, elapsed);
          if (!isnan (val_purity))
            fprintf (log, "%.4f", val_purity);
          fprintf (log, ",%.4f\n", st.geco_lambda);
          fflush (log);
          if (a.plot && !isnan (val_ari))
            {
              if (!iodine_plot_training_log (a.log, a.plot, &error))
                {
                  fprintf (stderr, "%s: %s\n", PROG, error->message);
                  g_clear_error (&error);
                }
            }
        }
      char eta[32];
      format_duration (eta, sizeof eta, (a.steps - (gint64) step) * (double) B / ips);
      if (tty)
        {
          int width = 24, filled = (int) (width * (double) step / MAX (1, a.steps));
          char bar[32];
          for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '.';
          bar[width] = '\0';
          fprintf (stderr, "\r[%s] %" G_GUINT64_FORMAT "/%" G_GINT64_FORMAT " loss %.1f FG-ARI %.3f %.1f img/s ETA %s  ",
                   bar, step, a.steps, st.loss, last_ari, ips, eta);
        }
      if (!isnan (val_ari))
        fprintf (stderr, "%svalidation at step %" G_GUINT64_FORMAT ": FG-ARI %.4f, MSE %.5f, object purity %.3f\n",
                 tty ? "\n" : "", step, val_ari, val_mse, val_purity);
      if (!tty && (step % a.log_every == 0 || !isnan (val_ari)))
        fprintf (stderr, "step %" G_GUINT64_FORMAT "/%" G_GINT64_FORMAT " loss %.1f nll %.1f kl %.1f |g| %.2f FG-ARI %.4f %.2f img/s ETA %s\n",
                 step, a.steps, st.loss, st.nll, st.kl, st.grad_norm, last_ari, ips, eta);
      if (a.checkpoint && step % a.checkpoint_every == 0)
        if (!write_checkpoint (tr, a.checkpoint, last_ari, &error))
          {
            status = cli_fail (PROG, error);
            error = NULL;
            status = CLI_RUNTIME_ERROR;
            break;
          }
    }
  if (tty)
    fputc ('\n', stderr);
  if (status == CLI_OK && a.checkpoint && !write_checkpoint (tr, a.checkpoint, last_ari, &error))
    status = cli_fail (PROG, error), status = CLI_RUNTIME_ERROR;
  if (status == CLI_OK && stop_signal)
    {
      fprintf (stderr, "%s: interrupted at step %" G_GUINT64_FORMAT "%s%s\n", PROG,
               (guint64) iodine_trainer_step_count (tr),
               a.checkpoint ? "; checkpoint written to " : " (no --checkpoint given)",
               a.checkpoint ? a.checkpoint : "");
      status = 128 + stop_signal;
    }
  else if (status == CLI_OK && a.out
           && !write_weights (tr, a.out, last_ari,
                              a.out_iterations == CLI_UNSET ? 0 : a.out_iterations, &error))
    status = cli_fail (PROG, error), status = CLI_RUNTIME_ERROR;
  if (log)
    fclose (log);
  g_free (images);
  iodine_dataset_free (ds);
  iodine_dataset_free (val);
  iodine_trainer_free (tr);
  return status;
}
