/* Adam (β1, β2, ε as in the reference config) and global gradient-norm
 * clipping, as single loops over the flat parameter block. */
#ifndef IODINE_ADAM_H
#define IODINE_ADAM_H

#include <stddef.h>
#include <stdint.h>

/* ‖g‖₂ over the block. */
double grad_global_norm (const float *grads, size_t n);
/* Scales grads so that their norm is at most max_norm; returns the norm
 * before clipping. */
double grad_clip (float *grads, size_t n, double max_norm);
/* One step: step counts from 1 (bias correction). */
void adam_update (float *params, float *m, float *v, const float *grads, size_t n, double lr,
                  double beta1, double beta2, double eps, uint64_t step);

#endif
