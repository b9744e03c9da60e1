/* Allocation of large buffers (see large_alloc.c). */
#ifndef IODINE_LARGE_ALLOC_H
#define IODINE_LARGE_ALLOC_H

#include <glib.h>

G_BEGIN_DECLS

/* Like g_try_malloc (NULL when out of memory); buffers of 8 MiB and more are
 * aligned to 2 MiB and advised to use huge pages. Free with g_free. */
void *iodine_try_alloc_large (gsize bytes);

G_END_DECLS

#endif
