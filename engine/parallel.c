#include "parallel.h"

#include <glib.h>

#define MAX_THREADS 8

static int n_threads = 1;

void
iodine_parallel_set_threads (int n)
{
  n_threads = CLAMP (n, 1, MAX_THREADS);
}

int
iodine_parallel_threads (void)
{
  return n_threads;
}

typedef struct {
  IodineRangeFunc fn;
  void *ctx;
  int begin, end;
  GMutex *lock;
  GCond *done;
  int *pending;
} Chunk;

static void
worker (gpointer data, gpointer user_data)
{
  (void) user_data;
  Chunk *c = data;
  c->fn (c->begin, c->end, c->ctx);
  g_mutex_lock (c->lock);
  if (--*c->pending == 0)
    g_cond_signal (c->done);
  g_mutex_unlock (c->lock);
}

void
iodine_parallel_for (int n, IodineRangeFunc fn, void *ctx)
{
  int parts = MIN (n_threads, n);
  static GThreadPool *pool;
  if (parts > 1 && g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (worker, NULL, MAX_THREADS - 1, FALSE, NULL));
  if (parts <= 1 || !pool)
    {
      if (n > 0)
        fn (0, n, ctx);
      return;
    }
  GMutex lock;
  GCond done;
  g_mutex_init (&lock);
  g_cond_init (&done);
  int pending = parts - 1;
  Chunk chunks[MAX_THREADS];
  for (int p = 0; p < parts; p++)
    chunks[p] = (Chunk){ fn, ctx, (int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts),
                         &lock, &done, &pending };
  for (int p = 1; p < parts; p++)
    g_thread_pool_push (pool, &chunks[p], NULL);
  fn (chunks[0].begin, chunks[0].end, ctx);
  g_mutex_lock (&lock);
  while (pending > 0)
    g_cond_wait (&done, &lock);
  g_mutex_unlock (&lock);
  g_mutex_clear (&lock);
  g_cond_clear (&done);
}
