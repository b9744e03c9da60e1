/* The trainer: steps, Adam, checkpoints that resume exactly. */
#include "train.h"

#include "adam.h"
#include "dataset.h"
#include "model_private.h"
#include "net.h"
#include "tensorfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct IodineTrainer {
  IodineModel *model;
  IodineTrainOptions opt;
  float *adam_m, *adam_v, *grads;
  uint64_t step;
  /* the data: step s draws samples sample_base + (s − step_base)·batch on,
   * so that a change of batch size on resume neither repeats nor skips
   * scenes (both 0 for a run that kept its batch) */
  uint64_t sample_base, step_base;
  IodineRng rng;
  IodineNet *net;
  double geco_zeta, geco_c_ema;  /* GECO state (see train.h) */
  gboolean geco_started;
  float *average;                /* moving average of params; NULL: off */
  gboolean average_in_model;     /* swapped: model->params holds the average */
};

/* softplus(ζ) = 1 at the start */
#define GECO_ZETA0 0.54132485461291802

static double
geco_lambda (const IodineTrainer *tr)
{
  if (isnan (tr->opt.geco_target))
    return 1.0;
  double z = tr->geco_zeta;
  double sp = z > 30.0 ? z : log1p (exp (z));
  return sp > 1.0 ? sp : 1.0;
}

void
iodine_train_options_init (IodineTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->batch = 32;
  o->lr = 3e-4;
  o->beta1 = 0.95;
  o->beta2 = 0.999;
  o->adam_eps = 1e-8;
  o->clip = 5.0;
  o->geco_target = NAN;
  o->geco_alpha = 0.99;
  o->geco_step = 1e-6;
}

static gboolean
validate_options (const IodineTrainOptions *o, GError **error)
{
  const char *bad = NULL;
  if (o->batch < 1 || o->batch > 4096)
    bad = "batch size must be between 1 and 4096";
  else if (o->slots < IODINE_MIN_SLOTS || o->slots > IODINE_MAX_SLOTS)
    bad = "slots must be between 2 and 64";
  else if (o->iterations < 1 || o->iterations > IODINE_MAX_ITERATIONS)
    bad = "iterations must be between 1 and 100";
  else if (!(o->lr > 0.0 && o->lr < 1.0))
    bad = "learning rate must be in (0, 1)";
  else if (o->warmup_steps < 0 || o->decay_half_life < 0.0)
    bad = "warm-up and decay must not be negative";
  else if (!(o->beta1 >= 0.0 && o->beta1 < 1.0 && o->beta2 >= 0.0 && o->beta2 < 1.0))
    bad = "Adam betas must be in [0, 1)";
  else if (!(o->clip > 0.0))
    bad = "gradient clipping bound must be positive";
  else if (!isnan (o->geco_target)
           && (!isfinite (o->geco_target) || !(o->geco_alpha >= 0.0 && o->geco_alpha < 1.0)
               || !(o->geco_step > 0.0 && o->geco_step < 1.0)))
    bad = "GECO needs a finite target, an EMA factor in [0, 1) and a step in (0, 1)";
  else if (!(o->average_decay >= 0.0 && o->average_decay < 1.0))
    bad = "the weight average's decay must be in [0, 1) (0: off)";
  if (bad)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID, "training options: %s", bad);
      return FALSE;
    }
  return TRUE;
}

static IodineTrainer *
trainer_alloc (IodineModel *model, const IodineTrainOptions *o)
{
  IodineTrainer *tr = g_new0 (IodineTrainer, 1);
  tr->model = model;
  tr->opt = *o;
  size_t n = model->layout.total;
  tr->adam_m = g_new0 (float, n);
  tr->adam_v = g_new0 (float, n);
  tr->grads = g_new0 (float, n);
  iodine_rng_seed2 (&tr->rng, o->seed, 0x6e6f697365ULL); /* the noise stream */
  tr->geco_zeta = GECO_ZETA0;
  if (o->average_decay > 0.0)
    tr->average = g_memdup2 (model->params, sizeof (float) * n);
  return tr;
}

IodineTrainer *
iodine_trainer_new (IodineModel *model, const IodineTrainOptions *options, GError **error)
{
  IodineTrainOptions o = *options;
  if (o.slots == 0)
    o.slots = model->cfg.slots;
  if (o.iterations == 0)
    o.iterations = model->cfg.iterations;
  if (!validate_options (&o, error))
    return NULL;
  return trainer_alloc (model, &o);
}

static void
describe_geco (GString *s, const IodineTrainOptions *o)
{
  if (isnan (o->geco_target))
    g_string_append (s, "off");
  else
    g_string_append_printf (s, "target %g α %g step %g", o->geco_target, o->geco_alpha,
                            o->geco_step);
}

static void
describe_average (GString *s, double decay)
{
  if (decay > 0.0)
    g_string_append_printf (s, "%g", decay);
  else
    g_string_append (s, "off");
}

static void
append_history (IodineTrainer *tr, const char *what)
{
  const char *before = iodine_model_metadata (tr->model, "train_history");
  char *history = g_strdup_printf ("%s%sstep %" G_GUINT64_FORMAT ": %s", before ? before : "",
                                   before ? "; " : "", (guint64) tr->step, what);
  iodine_model_set_metadata (tr->model, "train_history", history);
  g_free (history);
}

/* Whether two dataset specs draw from one dataset: the same, or the same
 * base with other curriculum options (dataset.h). */
static gboolean
same_dataset (const char *a, const char *b)
{
  char *base_a = iodine_dataset_base_spec (a), *base_b = iodine_dataset_base_spec (b);
  gboolean same = strcmp (base_a, base_b) == 0;
  g_free (base_a);
  g_free (base_b);
  return same;
}

gboolean
iodine_trainer_change_options (IodineTrainer *tr, const IodineTrainOptions *o, GError **error)
{
  const IodineTrainOptions *old = &tr->opt;
  const char *fixed = NULL;
  if (o->slots != old->slots)
    fixed = "slots (K)";
  else if (o->seed != old->seed)
    fixed = "seed";
  else if (!same_dataset (o->dataset, old->dataset))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "the dataset of a run cannot change when it is resumed (%s → %s); only "
                   "its curriculum options may, as in tetrominoes:touching=P", old->dataset,
                   o->dataset);
      return FALSE;
    }
  else if (o->beta1 != old->beta1 || o->beta2 != old->beta2 || o->adam_eps != old->adam_eps)
    fixed = "Adam's β and ε";
  if (fixed)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "the %s of a run cannot change when it is resumed", fixed);
      return FALSE;
    }
  if (!validate_options (o, error))
    return FALSE;
  GString *what = g_string_new (NULL);
  if (o->batch != old->batch)
    g_string_append_printf (what, ", batch %d → %d", old->batch, o->batch);
  if (o->iterations != old->iterations)
    g_string_append_printf (what, ", T %d → %d", old->iterations, o->iterations);
  if (strcmp (o->dataset, old->dataset) != 0)
    g_string_append_printf (what, ", dataset %s → %s", old->dataset, o->dataset);
  if (o->lr != old->lr)
    g_string_append_printf (what, ", lr %g → %g", old->lr, o->lr);
  if (o->warmup_steps != old->warmup_steps)
    g_string_append_printf (what, ", warm-up %d → %d", old->warmup_steps, o->warmup_steps);
  if (o->decay_half_life != old->decay_half_life)
    g_string_append_printf (what, ", half-life %g → %g", old->decay_half_life,
                            o->decay_half_life);
  if (o->clip != old->clip)
    g_string_append_printf (what, ", clip %g → %g", old->clip, o->clip);
  gboolean geco_same = (isnan (o->geco_target) && isnan (old->geco_target))
                       || (o->geco_target == old->geco_target && o->geco_alpha == old->geco_alpha
                           && o->geco_step == old->geco_step);
  if (!geco_same)
    {
      g_string_append (what, ", GECO ");
      describe_geco (what, old);
      g_string_append (what, " → ");
      describe_geco (what, o);
    }
  if (o->average_decay != old->average_decay)
    {
      g_string_append (what, ", weight average ");
      describe_average (what, old->average_decay);
      g_string_append (what, " → ");
      describe_average (what, o->average_decay);
    }
  /* the weights do not depend on T; the net's buffers (one set per
   * iteration, for backpropagation through time) do, and the weights
   * written from now on run by default with the new T */
  if (o->iterations != old->iterations
      && !iodine_model_set_defaults (tr->model, 0, 0, 0, o->iterations, error))
    {
      g_string_free (what, TRUE);
      return FALSE;
    }
  if (what->len > 0)
    {
      if (isnan (old->geco_target) && !isnan (o->geco_target))
        {
          tr->geco_zeta = GECO_ZETA0;
          tr->geco_c_ema = 0.0;
          tr->geco_started = FALSE;
        }
      /* switched on, the average starts at the weights of this step */
      if (o->average_decay > 0.0 && !tr->average)
        tr->average = g_memdup2 (tr->model->params, sizeof (float) * tr->model->layout.total);
      else if (o->average_decay == 0.0)
        g_clear_pointer (&tr->average, g_free);
      if (o->batch != old->batch)
        {
          /* the next scenes are those the old batch size would have drawn
           * next */
          tr->sample_base = iodine_trainer_next_sample (tr);
          tr->step_base = tr->step;
        }
      /* the net's buffers are planned for one batch size and one T */
      if (o->batch != old->batch || o->iterations != old->iterations)
        {
          iodine_net_free (tr->net);
          tr->net = NULL;
        }
      append_history (tr, what->str + 2);
      tr->opt = *o;
    }
  g_string_free (what, TRUE);
  return TRUE;
}

gboolean
iodine_trainer_set_geco_lambda (IodineTrainer *tr, double lambda, GError **error)
{
  if (isnan (tr->opt.geco_target))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "GECO's λ can only be set in a run that uses GECO (give a --geco-target)");
      return FALSE;
    }
  if (!(lambda >= 1.0 && lambda <= 1e6))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   "GECO's λ must be between 1 and 1e6, not %g", lambda);
      return FALSE;
    }
  double before = geco_lambda (tr);
  /* λ = softplus(ζ), so ζ = log(e^λ − 1); softplus(ζ) = ζ to double
   * precision beyond 30, as geco_lambda computes it */
  tr->geco_zeta = lambda > 30.0 ? lambda : lambda > 1.0 ? log (expm1 (lambda)) : GECO_ZETA0;
  /* the constraint's average belongs to the old λ: from the next step on,
   * it starts again from that step's constraint */
  tr->geco_c_ema = 0.0;
  tr->geco_started = FALSE;
  char *what = g_strdup_printf ("GECO λ %.4g → %.4g", before, lambda);
  append_history (tr, what);
  g_free (what);
  return TRUE;
}

gboolean
iodine_trainer_change_size (IodineTrainer *tr, int height, int width, GError **error)
{
  const IodineConfig *c = &tr->model->cfg;
  if (height == c->height && width == c->width)
    return TRUE;
  int old_h = c->height, old_w = c->width;
  if (!iodine_model_set_defaults (tr->model, height, width, 0, 0, error))
    return FALSE;
  /* the net's buffers are planned for one image size: plan them anew */
  iodine_net_free (tr->net);
  tr->net = NULL;
  char *what = g_strdup_printf ("size %d×%d → %d×%d", old_w, old_h, width, height);
  append_history (tr, what);
  g_free (what);
  return TRUE;
}

void
iodine_trainer_free (IodineTrainer *tr)
{
  if (!tr)
    return;
  iodine_net_free (tr->net);
  iodine_model_free (tr->model);
  g_free (tr->adam_m);
  g_free (tr->adam_v);
  g_free (tr->grads);
  g_free (tr->average);
  g_free (tr);
}

gboolean
iodine_trainer_has_average (const IodineTrainer *tr)
{
  return tr->average != NULL;
}

void
iodine_trainer_swap_average (IodineTrainer *tr)
{
  if (!tr->average)
    return;
  float *p = tr->model->params, *a = tr->average;
  for (size_t i = 0; i < tr->model->layout.total; i++)
    {
      float t = p[i];
      p[i] = a[i];
      a[i] = t;
    }
  tr->average_in_model = !tr->average_in_model;
}

IodineModel *
iodine_trainer_model (IodineTrainer *tr)
{
  return tr->model;
}

const IodineTrainOptions *
iodine_trainer_options (const IodineTrainer *tr)
{
  return &tr->opt;
}

uint64_t
iodine_trainer_step_count (const IodineTrainer *tr)
{
  return tr->step;
}

uint64_t
iodine_trainer_next_sample (const IodineTrainer *tr)
{
  return tr->sample_base + (tr->step - tr->step_base) * (uint64_t) tr->opt.batch;
}

size_t
iodine_trainer_n_floats (const IodineTrainer *tr)
{
  return tr->model->layout.total;
}

static gboolean
ensure_net (IodineTrainer *tr, GError **error)
{
  if (tr->net)
    return TRUE;
  const IodineConfig *c = &tr->model->cfg;
  tr->net = iodine_net_new (c, &tr->model->layout, tr->opt.batch, tr->opt.slots,
                            tr->opt.iterations, c->height, c->width, TRUE, error);
  return tr->net != NULL;
}

gboolean
iodine_trainer_gradient (IodineTrainer *tr, const float *images, const float *eps, float *grads,
                         double *loss, GError **error)
{
  if (!ensure_net (tr, error))
    return FALSE;
  tr->net->nll_weight = (float) geco_lambda (tr);
  if (!iodine_net_forward (tr->net, tr->model->params, images, eps, eps ? NULL : &tr->rng, NULL,
                           NULL, NULL, error))
    return FALSE;
  memset (grads, 0, sizeof (float) * tr->model->layout.total);
  iodine_net_backward (tr->net, tr->model->params, grads);
  if (loss)
    *loss = iodine_net_train_loss (tr->net);
  return TRUE;
}

static double
learning_rate (const IodineTrainOptions *o, uint64_t step)
{
  double lr = o->lr;
  if (o->warmup_steps > 0 && step < (uint64_t) o->warmup_steps)
    lr *= (double) step / o->warmup_steps;
  if (o->decay_half_life > 0.0)
    lr *= pow (0.5, (double) step / o->decay_half_life);
  return lr;
}

gboolean
iodine_trainer_step (IodineTrainer *tr, const float *images, const float *eps,
                     IodineStepStats *stats, GError **error)
{
  g_return_val_if_fail (!tr->average_in_model, FALSE);
  double loss;
  if (!iodine_trainer_gradient (tr, images, eps, tr->grads, &loss, error))
    return FALSE;
  const size_t n = tr->model->layout.total;
  double norm = grad_global_norm (tr->grads, n);
  if (!isfinite (norm) || !isfinite (loss))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_NONFINITE,
                   "step %" G_GUINT64_FORMAT ": non-finite loss (%g) or gradient norm (%g); "
                   "parameters left unchanged",
                   tr->step + 1, loss, norm);
      return FALSE;
    }
  grad_clip (tr->grads, n, tr->opt.clip);
  double lambda = tr->net->nll_weight;
  if (!isnan (tr->opt.geco_target))
    {
      double c = tr->net->nll[tr->net->T] - tr->opt.geco_target;
      tr->geco_c_ema = tr->geco_started ? tr->opt.geco_alpha * tr->geco_c_ema
                                              + (1.0 - tr->opt.geco_alpha) * c
                                        : c;
      tr->geco_started = TRUE;
      tr->geco_zeta += tr->opt.geco_step * tr->geco_c_ema;
    }
  tr->step++;
  double lr = learning_rate (&tr->opt, tr->step);
  adam_update (tr->model->params, tr->adam_m, tr->adam_v, tr->grads, n, lr, tr->opt.beta1,
               tr->opt.beta2, tr->opt.adam_eps, tr->step);
  if (tr->average)
    {
      const float d = (float) tr->opt.average_decay;
      const float *p = tr->model->params;
      for (size_t i = 0; i < n; i++)
        tr->average[i] = d * tr->average[i] + (1.0f - d) * p[i];
    }
  if (stats)
    {
      const IodineNet *net = tr->net;
      stats->loss = loss;
      stats->nll = net->nll[net->T];
      stats->kl = net->kl[net->T];
      stats->grad_norm = norm;
      stats->lr = lr;
      stats->geco_lambda = lambda;
    }
  return TRUE;
}

/* --- checkpoints --- */

static void
md_set (GHashTable *md, const char *key, char *value)
{
  g_hash_table_replace (md, g_strdup (key), value);
}

static char *
fmt_double (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.17g", v));
}

gboolean
iodine_trainer_save_checkpoint (IodineTrainer *tr, const char *path, GHashTable *extra,
                                GError **error)
{
  g_return_val_if_fail (!tr->average_in_model, FALSE);
  const ParamLayout *L = &tr->model->layout;
  const IodineTrainOptions *o = &tr->opt;
  /* the weights, Adam's moments, and the weights' average if there is one */
  const int parts = tr->average ? 4 : 3;
  IodineTensorView *views = g_new0 (IodineTensorView, parts * L->n);
  float *file = g_new (float, parts * L->total);
  char **names = g_new0 (char *, (parts - 1) * L->n + 1);
  const float *src[4] = { tr->model->params, tr->adam_m, tr->adam_v, tr->average };
  const char *prefix[4] = { "", "adam.m.", "adam.v.", "average." };
  for (int part = 0; part < parts; part++)
    for (int i = 0; i < L->n; i++)
      {
        const ParamInfo *p = &L->info[i];
        IodineTensorView *v = &views[part * L->n + i];
        if (part == 0)
          v->name = p->name;
        else
          v->name = names[(part - 1) * L->n + i] = g_strconcat (prefix[part], p->name, NULL);
        v->ndim = p->ndim;
        memcpy (v->shape, p->shape, sizeof (int64_t) * p->ndim);
        float *dst = file + part * L->total + p->offset;
        model_param_to_file (p, dst, src[part] + p->offset);
        v->data = dst;
      }
  GHashTable *md = model_file_metadata (tr->model, extra);
  md_set (md, "train.step", g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) tr->step));
  md_set (md, "train.rng",
          g_strdup_printf ("%016" G_GINT64_MODIFIER "x,%016" G_GINT64_MODIFIER
                           "x,%016" G_GINT64_MODIFIER "x,%016" G_GINT64_MODIFIER "x",
                           (guint64) tr->rng.s[0], (guint64) tr->rng.s[1],
                           (guint64) tr->rng.s[2], (guint64) tr->rng.s[3]));
  md_set (md, "train.batch", g_strdup_printf ("%d", o->batch));
  if (tr->step_base > 0)
    {
      md_set (md, "train.sample_base",
              g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) tr->sample_base));
      md_set (md, "train.step_base", g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) tr->step_base));
    }
  md_set (md, "train.slots", g_strdup_printf ("%d", o->slots));
  md_set (md, "train.iterations", g_strdup_printf ("%d", o->iterations));
  md_set (md, "train.lr", fmt_double (o->lr));
  md_set (md, "train.warmup_steps", g_strdup_printf ("%d", o->warmup_steps));
  md_set (md, "train.decay_half_life", fmt_double (o->decay_half_life));
  md_set (md, "train.beta1", fmt_double (o->beta1));
  md_set (md, "train.beta2", fmt_double (o->beta2));
  md_set (md, "train.adam_eps", fmt_double (o->adam_eps));
  md_set (md, "train.clip", fmt_double (o->clip));
  md_set (md, "train.seed", g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) o->seed));
  md_set (md, "train.dataset", g_strdup (o->dataset));
  if (!isnan (o->geco_target))
    {
      md_set (md, "train.geco_target", fmt_double (o->geco_target));
      md_set (md, "train.geco_alpha", fmt_double (o->geco_alpha));
      md_set (md, "train.geco_step", fmt_double (o->geco_step));
      md_set (md, "train.geco_zeta", fmt_double (tr->geco_zeta));
      md_set (md, "train.geco_c_ema", fmt_double (tr->geco_c_ema));
      md_set (md, "train.geco_started", g_strdup (tr->geco_started ? "1" : "0"));
    }
  if (tr->average)
    md_set (md, "train.average_decay", fmt_double (o->average_decay));
  gboolean ok = iodine_tensor_file_write (path, views, parts * L->n, md, error);
  g_hash_table_unref (md);
  g_strfreev (names);
  g_free (file);
  g_free (views);
  return ok;
}

static gboolean
md_get (const IodineTensorFile *f, const char *key, const char **out, GError **error)
{
  *out = g_hash_table_lookup (f->metadata, key);
  if (!*out)
    g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                 "%s: not a training checkpoint (metadata “%s” is missing)", f->path, key);
  return *out != NULL;
}

static gboolean
md_double (const IodineTensorFile *f, const char *key, double *out, GError **error)
{
  const char *v;
  if (!md_get (f, key, &v, error))
    return FALSE;
  char *end;
  *out = g_ascii_strtod (v, &end);
  if (*v == '\0' || *end != '\0')
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: metadata “%s” is “%s”, not a number", f->path, key, v);
      return FALSE;
    }
  return TRUE;
}

static gboolean
md_u64 (const IodineTensorFile *f, const char *key, uint64_t *out, GError **error)
{
  const char *v;
  if (!md_get (f, key, &v, error))
    return FALSE;
  if (!g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, (guint64 *) out, NULL))
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: metadata “%s” is “%s”, not a count", f->path, key, v);
      return FALSE;
    }
  return TRUE;
}

static gboolean
checkpoint_has_average (const IodineTensorFile *f, const ParamLayout *layout)
{
  char *name = g_strconcat ("average.", layout->info[0].name, NULL);
  gboolean has = iodine_tensor_file_get (f, name) != NULL;
  g_free (name);
  return has;
}

IodineTrainer *
iodine_trainer_resume (const char *path, GError **error)
{
  IodineTensorFile *f = iodine_tensor_file_read (path, error);
  if (!f)
    return NULL;
  IodineTrainer *tr = NULL;
  IodineTrainOptions o;
  iodine_train_options_init (&o);
  uint64_t step, batch, slots, iterations, warmup;
  const char *rng, *dataset;
  if (!md_u64 (f, "train.step", &step, error) || !md_u64 (f, "train.batch", &batch, error)
      || !md_u64 (f, "train.slots", &slots, error)
      || !md_u64 (f, "train.iterations", &iterations, error)
      || !md_u64 (f, "train.warmup_steps", &warmup, error)
      || !md_u64 (f, "train.seed", &o.seed, error) || !md_double (f, "train.lr", &o.lr, error)
      || !md_double (f, "train.decay_half_life", &o.decay_half_life, error)
      || !md_double (f, "train.beta1", &o.beta1, error)
      || !md_double (f, "train.beta2", &o.beta2, error)
      || !md_double (f, "train.adam_eps", &o.adam_eps, error)
      || !md_double (f, "train.clip", &o.clip, error) || !md_get (f, "train.rng", &rng, error)
      || !md_get (f, "train.dataset", &dataset, error))
    goto out;
  /* GECO: present only in checkpoints of runs that use it */
  double geco_zeta = GECO_ZETA0, geco_c_ema = 0.0;
  gboolean geco_started = FALSE;
  if (g_hash_table_lookup (f->metadata, "train.geco_target"))
    {
      if (!md_double (f, "train.geco_target", &o.geco_target, error)
          || !md_double (f, "train.geco_alpha", &o.geco_alpha, error)
          || !md_double (f, "train.geco_step", &o.geco_step, error)
          || !md_double (f, "train.geco_zeta", &geco_zeta, error)
          || !md_double (f, "train.geco_c_ema", &geco_c_ema, error))
        goto out;
      geco_started = g_strcmp0 (g_hash_table_lookup (f->metadata, "train.geco_started"), "1") == 0;
    }
  /* the weight average: present only in checkpoints of runs that keep one */
  if (g_hash_table_lookup (f->metadata, "train.average_decay")
      && !md_double (f, "train.average_decay", &o.average_decay, error))
    goto out;
  /* where the data stand: present only in runs whose batch size changed */
  uint64_t sample_base = 0, step_base = 0;
  if (g_hash_table_lookup (f->metadata, "train.step_base")
      && (!md_u64 (f, "train.step_base", &step_base, error)
          || !md_u64 (f, "train.sample_base", &sample_base, error)))
    goto out;
  if (step_base > step)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: metadata “train.step_base” (%" G_GUINT64_FORMAT ") is beyond "
                   "“train.step” (%" G_GUINT64_FORMAT ")", path, (guint64) step_base,
                   (guint64) step);
      goto out;
    }
  o.batch = (int) MIN (batch, 1u << 20);
  o.slots = (int) MIN (slots, 1u << 20);
  o.iterations = (int) MIN (iterations, 1u << 20);
  o.warmup_steps = (int) MIN (warmup, 1u << 30);
  g_strlcpy (o.dataset, dataset, sizeof o.dataset);
  if (!validate_options (&o, error))
    {
      g_prefix_error (error, "%s: ", path);
      goto out;
    }
  IodineModel *model = model_from_tensor_file (f, FALSE, error);
  if (!model)
    goto out;
  tr = trainer_alloc (model, &o);
  tr->step = step;
  tr->sample_base = sample_base;
  tr->step_base = step_base;
  tr->geco_zeta = geco_zeta;
  tr->geco_c_ema = geco_c_ema;
  tr->geco_started = geco_started;
  /* trainer_alloc started the average at the weights: the checkpoint's own
   * replaces it (a checkpoint written by the PyTorch reference has none,
   * and the average then starts again from its weights) */
  if (!model_load_params (f, &model->layout, tr->adam_m, "adam.m.", error)
      || !model_load_params (f, &model->layout, tr->adam_v, "adam.v.", error)
      || (tr->average && checkpoint_has_average (f, &model->layout)
          && !model_load_params (f, &model->layout, tr->average, "average.", error)))
    {
      iodine_trainer_free (tr);
      tr = NULL;
      goto out;
    }
  char **words = g_strsplit (rng, ",", -1);
  gboolean rng_ok = g_strv_length (words) == 4;
  for (int i = 0; rng_ok && i < 4; i++)
    rng_ok = g_ascii_string_to_unsigned (words[i], 16, 0, G_MAXUINT64,
                                         (guint64 *) &tr->rng.s[i], NULL);
  g_strfreev (words);
  if (!rng_ok)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_MISMATCH,
                   "%s: metadata “train.rng” is not four hexadecimal words", path);
      iodine_trainer_free (tr);
      tr = NULL;
    }
  /* the stored state of a finished step is the model's metadata no more */
  if (tr)
    {
      const char *keys[] = { "train.step", "train.rng", "train.geco_zeta", "train.geco_c_ema",
                             "train.geco_started", "train.average_decay", "train.sample_base",
                             "train.step_base" };
      for (size_t i = 0; i < G_N_ELEMENTS (keys); i++)
        g_hash_table_remove (tr->model->metadata, keys[i]);
    }
out:
  iodine_tensor_file_free (f);
  return tr;
}
