/* The engine's thread pool (engine/parallel.c): every item of every call is
 * run exactly once, on 1–8 threads, when the thread count changes between
 * calls, for calls with fewer items than threads, for calls made from inside
 * a part (run serially) and for calls from two threads at once (one of them
 * runs serially), and after the workers have gone to sleep. */
#include "parallel.h"

#include <glib.h>
#include <stdio.h>

#define ITEMS 1000

typedef struct {
  gint hits[ITEMS];
  int nested;
} Counts;

static void
count_items (int begin, int end, void *ctx)
{
  Counts *c = ctx;
  for (int i = begin; i < end; i++)
    g_atomic_int_inc (&c->hits[i]);
}

static void
count_nested (int begin, int end, void *ctx)
{
  Counts *c = ctx;
  for (int i = begin; i < end; i++)
    {
      /* a call from inside a part: must run (serially), not deadlock */
      Counts inner = { { 0 }, 0 };
      iodine_parallel_for (7, count_items, &inner);
      for (int j = 0; j < 7; j++)
        g_assert_cmpint (inner.hits[j], ==, 1);
      g_atomic_int_inc (&c->hits[i]);
    }
}

static void
check_call (int n, IodineRangeFunc fn)
{
  static Counts c;
  for (int i = 0; i < ITEMS; i++)
    c.hits[i] = 0;
  iodine_parallel_for (n, fn, &c);
  for (int i = 0; i < ITEMS; i++)
    g_assert_cmpint (c.hits[i], ==, i < n ? 1 : 0);
}

static gpointer
other_caller (gpointer data)
{
  (void) data;
  for (int r = 0; r < 2000; r++)
    {
      Counts *c = g_new0 (Counts, 1);
      iodine_parallel_for (ITEMS, count_items, c);
      for (int i = 0; i < ITEMS; i++)
        g_assert_cmpint (c->hits[i], ==, 1);
      g_free (c);
    }
  return NULL;
}

int
main (void)
{
  int calls = 0;
  for (int round = 0; round < 20; round++)
    for (int threads = 1; threads <= 8; threads++)
      {
        iodine_parallel_set_threads (threads);
        for (int n = 0; n <= 10; n++, calls++)
          check_call (n, count_items);
        check_call (ITEMS, count_items);
        check_call (37, count_nested);
        calls += 2;
      }
  /* workers asleep (they spin for a fraction of a millisecond) */
  iodine_parallel_set_threads (4);
  for (int r = 0; r < 5; r++, calls++)
    {
      g_usleep (5000);
      check_call (ITEMS, count_items);
    }
  /* two callers at once */
  GThread *t = g_thread_new ("other", other_caller, NULL);
  for (int r = 0; r < 2000; r++, calls++)
    check_call (ITEMS, count_items);
  g_thread_join (t);
  printf ("%d calls, every item run exactly once\n", calls);
  return 0;
}
