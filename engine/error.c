/* The GError domain of libiodine (codes in iodine.h). */
#include "iodine.h"

G_DEFINE_QUARK (iodine-error-quark, iodine_error)
