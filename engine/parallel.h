/* A parallel for over independent items (slots, images, ranges of
 * elements), on the engine's threads. Every item is computed by exactly one
 * thread in the same way whatever the thread count, so results do not
 * depend on it; reductions across items stay serial. */
#ifndef IODINE_PARALLEL_H
#define IODINE_PARALLEL_H

/* Runs fn (begin, end, ctx) over [0, n) split into contiguous chunks, one
 * per thread, the first on the calling thread. */
typedef void (*IodineRangeFunc) (int begin, int end, void *ctx);
void iodine_parallel_for (int n, IodineRangeFunc fn, void *ctx);
/* Threads used (1: everything runs on the calling thread). */
void iodine_parallel_set_threads (int n);
int iodine_parallel_threads (void);

#endif
