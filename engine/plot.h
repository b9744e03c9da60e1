/* Training curves: the loss and the validation FG-ARI of a trainer's CSV
 * log, drawn with cairo into a PNG. */
#ifndef IODINE_PLOT_H
#define IODINE_PLOT_H

#include <glib.h>

gboolean iodine_plot_training_log (const char *csv_path, const char *png_path, GError **error);

#endif
