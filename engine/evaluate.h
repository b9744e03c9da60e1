/* Evaluation of a model on generated scenes: FG-ARI (paper) and MSE of the
 * reconstruction, deterministic inference (ε = 0). */
#ifndef IODINE_EVALUATE_H
#define IODINE_EVALUATE_H

#include "dataset.h"
#include "iodine.h"

typedef struct {
  int count;                  /* images evaluated */
  int ari_count;              /* images with foreground (FG-ARI defined) */
  double ari_mean, ari_std;
  double mse_mean, mse_std;
  /* Object purity: for every ground-truth object, the largest share of its
   * pixels' mask mass held by one slot, averaged over objects. Near 1 when
   * every object has its own slot, but also when one slot (the background)
   * holds everything, as on the first plateau; read it with FG-ARI. */
  double purity_mean;
} IodineEvalStats;

/* One scene's figures, for looking at where a model fails (iodine eval
 * --scores): the averages above hide whether a model is a little wrong
 * everywhere or badly wrong on one kind of scene. */
typedef struct {
  double ari;                 /* FG-ARI; NaN without labels or foreground */
  double mse;
  double purity;              /* mean over the scene's objects; NaN if none */
  int objects;                /* labelled objects (0 without labels) */
} IodineSceneScore;

/* Decomposes samples first..first+count−1 of ds at the model's size with K
 * slots and T iterations (0: the model's defaults), each the best of
 * restarts runs by loss (0 or 1: one run). The first n_keep results
 * are returned in keep[] (caller frees) for pictures; keep may be NULL.
 * scenes, when not NULL, receives count per-scene scores. */
gboolean iodine_evaluate (const IodineModel *model, IodineDataset *ds, uint64_t first, int count,
                          int slots, int iterations, int restarts, IodineEvalStats *stats,
                          IodineSceneScore *scenes, IodineResult **keep, int n_keep,
                          GError **error);

#endif
