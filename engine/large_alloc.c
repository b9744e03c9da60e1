/* Large buffers (full-resolution images and masks) backed by transparent
 * huge pages where the kernel offers them (madvise mode). Why: on the
 * development machine (a virtual machine) the first touch of a fresh 4 KiB
 * page costs ~15 µs, so a 144 MiB buffer took 0.53 s just to fault in; in
 * 2 MiB pages the same buffer takes 0.014 s. */
#include "large_alloc.h"

#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((gsize) 2 << 20)

void *
iodine_try_alloc_large (gsize bytes)
{
  if (bytes < 4 * HUGE_PAGE)
    return g_try_malloc (bytes);
  void *p = NULL;
  /* whole huge pages, aligned to one, so that all of it can be backed */
  gsize rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  if (posix_memalign (&p, HUGE_PAGE, rounded) != 0)
    return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise (p, rounded, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
  return p;
}
