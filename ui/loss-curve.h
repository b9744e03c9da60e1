/* A small plot of the loss per refinement iteration (paper Figure 8). */
#ifndef IODINE_LOSS_CURVE_H
#define IODINE_LOSS_CURVE_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *iodine_loss_curve_new (void);
/* Shows loss[0..n_known-1] on an x axis of 0..iterations (n_known ≤
 * iterations + 1, fewer while a run is in progress); n_known 0 clears it. */
void iodine_loss_curve_set (GtkWidget *curve, const float *loss, int n_known, int iterations);

G_END_DECLS

#endif
