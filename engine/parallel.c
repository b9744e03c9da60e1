/* The engine's thread pool (parallel.h). Why not GThreadPool: a training
 * step makes hundreds of short parallel calls, and waking a sleeping worker
 * through a condition variable costs tens of microseconds in a virtual
 * machine, several per cent of the step. Here each worker spins for a while
 * on its own mailbox (the number of the last call it was given a part of)
 * and only then sleeps; the caller spins for the workers' parts to finish.
 * A worker reads the call's fields only when its mailbox says it has a part
 * in it, and the caller changes them only after every such part is done. */
#include "parallel.h"

#include <glib.h>
#include <sched.h>

#define MAX_THREADS 8
/* How long an idle worker spins before it sleeps (µs). */
#define SPIN_US 300

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

static struct {
  GMutex lock;       /* held by the caller of a parallel call (one at a time) */
  GMutex sleep_lock; /* with `wake`, for sleeping workers */
  GCond wake;
  gint generation;   /* bumped for every call */
  gint mailbox[MAX_THREADS]; /* per worker: the last call it has a part in */
  gint sleepers;
  gint remaining;    /* parts not yet finished by workers */
  IodineRangeFunc fn;
  void *ctx;
  int n, parts;
  int n_workers;
} pool;

static _Thread_local gboolean inside_part;

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

static void
run_part (int p)
{
  int n = pool.n, parts = pool.parts;
  pool.fn ((int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts), pool.ctx);
}

static gpointer
worker_main (gpointer data)
{
  const int index = GPOINTER_TO_INT (data); /* part index: 1 … MAX_THREADS − 1 */
  gint *mailbox = &pool.mailbox[index];
  inside_part = TRUE;
  /* 0: no call yet. A worker is created before its first call is posted, but
   * may start running after it, so it must not take the mailbox's value. */
  int seen = 0;
  for (;;)
    {
      gint64 until = g_get_monotonic_time () + SPIN_US;
      for (int i = 0; g_atomic_int_get (mailbox) == seen; i++)
        {
          cpu_relax ();
          if ((i & 255) == 255 && g_get_monotonic_time () > until)
            {
              g_mutex_lock (&pool.sleep_lock);
              g_atomic_int_inc (&pool.sleepers);
              while (g_atomic_int_get (mailbox) == seen)
                g_cond_wait (&pool.wake, &pool.sleep_lock);
              g_atomic_int_add (&pool.sleepers, -1);
              g_mutex_unlock (&pool.sleep_lock);
              break;
            }
        }
      seen = g_atomic_int_get (mailbox);
      run_part (index);
      g_atomic_int_add (&pool.remaining, -1);
    }
  return NULL;
}

static gboolean
pool_start (int workers)
{
  while (pool.n_workers < workers)
    {
      GThread *t = g_thread_try_new ("iodine-worker", worker_main,
                                     GINT_TO_POINTER (pool.n_workers + 1), NULL);
      if (!t)
        return FALSE;
      g_thread_unref (t); /* runs for the life of the process */
      pool.n_workers++;
    }
  return TRUE;
}

void
iodine_parallel_for (int n, IodineRangeFunc fn, void *ctx)
{
  int parts = MIN (n_threads, n);
  /* serially: one thread, a call from inside a part, or while another
   * thread's call holds the pool */
  if (parts <= 1 || inside_part || !g_mutex_trylock (&pool.lock))
    {
      if (n > 0)
        fn (0, n, ctx);
      return;
    }
  if (!pool_start (parts - 1))
    parts = MIN (parts, pool.n_workers + 1);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.parts = parts;
  g_atomic_int_set (&pool.remaining, parts - 1);
  /* publishes the fields above to the workers that have a part (GLib's
   * atomics are full barriers) */
  int g = g_atomic_int_add (&pool.generation, 1) + 1;
  for (int p = 1; p < parts; p++)
    g_atomic_int_set (&pool.mailbox[p], g);
  if (g_atomic_int_get (&pool.sleepers) > 0)
    {
      g_mutex_lock (&pool.sleep_lock);
      g_cond_broadcast (&pool.wake);
      g_mutex_unlock (&pool.sleep_lock);
    }
  inside_part = TRUE;
  run_part (0);
  inside_part = FALSE;
  for (int i = 0; g_atomic_int_get (&pool.remaining) > 0; i++)
    {
      cpu_relax ();
      if ((i & 1023) == 1023)
        sched_yield (); /* a worker may have lost its core */
    }
  g_mutex_unlock (&pool.lock);
}
