/* The GIMP 2.10 host: libgimp-2.0 only (no libgimpui, which is GTK 2 and
 * cannot share a process with the GTK 3 dialog), PDB procedure installed
 * with gimp_install_procedure, pixels through GEGL buffers. */
#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#ifdef IODINE_HAVE_UI
#include <gtk/gtk.h>
#ifdef GDK_WINDOWING_X11
#include <gdk/gdkx.h>
#endif
#endif

#include "host.h"
#include "host-gegl.h"
#include "iodine-config.h"

typedef struct {
  IodineHost base;
  gint32 image;
  gint32 layer;        /* the source layer */
  int x, y;            /* the region in the layer's coordinates */
  int ox, oy;          /* the layer's offsets */
} Gimp2Host;

static IodineRegion *
gimp2_read_region (IodineHost *base, GError **error)
{
  Gimp2Host *host = (Gimp2Host *) base;
  int x, y, w, h;
  if (!gimp_drawable_mask_intersect (host->layer, &x, &y, &w, &h) || w <= 0 || h <= 0)
    {
      g_set_error (error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   _("The selection does not intersect the layer"));
      return NULL;
    }
  gboolean has_selection = !gimp_selection_is_empty (host->image);
  IodineRegion *region = iodine_region_new (w, h, has_selection, error);
  if (!region)
    return NULL;
  host->x = x;
  host->y = y;
  gimp_drawable_offsets (host->layer, &host->ox, &host->oy);

  GeglBuffer *buffer = gimp_drawable_get_buffer (host->layer);
  GeglBuffer *sb = has_selection ? gimp_drawable_get_buffer (gimp_image_get_selection (host->image))
                                 : NULL;
  host_read_region (region, buffer, sb, x, y, host->ox + x, host->oy + y, w, h);
  g_object_unref (buffer);
  if (sb)
    g_object_unref (sb);
  return region;
}

static void
gimp2_progress_start (IodineHost *base, const char *text)
{
  (void) base;
  gimp_progress_init (text);
}

static gboolean
gimp2_progress_update (IodineHost *base, double fraction)
{
  (void) base;
  return gimp_progress_update (fraction);
}

static gboolean
gimp2_write_layers (IodineHost *base, const IodineDecomposition *d,
                    IodineContentMode content, GError **error)
{
  Gimp2Host *host = (Gimp2Host *) base;
  int w = iodine_decomposition_width (d), h = iodine_decomposition_height (d);
  int strip;
  float *rgba, *mask;
  if (!host_strip_buffers (w, h, &strip, &rgba, &mask, error))
    return FALSE;
  GimpImageType type;
  switch (gimp_image_base_type (host->image))
    {
    case GIMP_GRAY: type = GIMP_GRAYA_IMAGE; break;
    case GIMP_INDEXED: type = GIMP_INDEXEDA_IMAGE; break;
    default: type = GIMP_RGBA_IMAGE; break;
    }

  gboolean ok = FALSE;
  gimp_image_undo_group_start (host->image);
  gint32 parent = gimp_item_get_parent (host->layer);
  gint position = gimp_image_get_item_position (host->image, host->layer);
  gint32 group = gimp_layer_group_new (host->image);
  if (group <= 0)
    goto out;
  gimp_item_set_name (group, _("Objects"));
  if (!gimp_image_insert_layer (host->image, group, parent > 0 ? parent : -1, position))
    goto out;
  for (int i = 0; i < iodine_decomposition_n_layers (d); i++)
    {
      gint32 layer = gimp_layer_new (host->image, iodine_decomposition_layer_name (d, i),
                                     w, h, type, 100.0, GIMP_LAYER_MODE_NORMAL);
      if (layer <= 0 || !gimp_image_insert_layer (host->image, layer, group, i))
        goto remove;
      gimp_layer_set_offsets (layer, host->ox + host->x, host->oy + host->y);
      gboolean white = host_mask_starts_white (d, i);
      gint32 lmask = gimp_layer_create_mask (layer, white ? GIMP_ADD_MASK_WHITE : GIMP_ADD_MASK_BLACK);
      if (lmask <= 0 || !gimp_layer_add_mask (layer, lmask))
        goto remove;
      GeglBuffer *lb = gimp_drawable_get_buffer (layer);
      GeglBuffer *mb = gimp_drawable_get_buffer (lmask);
      host_write_layer (lb, mb, d, i, content, strip, rgba, mask, white);
      g_object_unref (lb);
      g_object_unref (mb);
      gimp_drawable_update (layer, 0, 0, w, h);
      gimp_drawable_update (lmask, 0, 0, w, h);
    }
  ok = TRUE;
  goto out;

remove:
  gimp_image_remove_layer (host->image, group);
out:
  gimp_image_undo_group_end (host->image);
  if (!ok)
    g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO, _("Could not add the layers: %s"),
                 gimp_get_pdb_error ());
  g_free (rgba);
  g_free (mask);
  return ok;
}

#ifdef IODINE_HAVE_UI
static void
gimp2_make_transient (GtkWidget *dialog, gpointer data)
{
  (void) data;
#ifdef GDK_WINDOWING_X11
  gint handle = gimp_progress_get_window_handle ();
  GdkDisplay *display = gtk_widget_get_display (dialog);
  if (handle && GDK_IS_X11_DISPLAY (display))
    {
      GdkWindow *parent = gdk_x11_window_foreign_new_for_display (display, (Window) handle);
      if (parent)
        {
          gtk_widget_realize (dialog);
          gdk_window_set_transient_for (gtk_widget_get_window (dialog), parent);
          g_object_unref (parent);
        }
    }
#else
  (void) dialog;
#endif
}
#endif

static const IodineHostOps gimp2_ops = {
  gimp2_read_region,
  gimp2_progress_start,
  gimp2_progress_update,
  gimp2_write_layers,
#ifdef IODINE_HAVE_UI
  gimp2_make_transient,
#else
  NULL,
#endif
};

/* ---- the PDB procedure --------------------------------------------------- */

static void
query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable (a layer)" },
    { GIMP_PDB_INT32, "slots", "Number of slots K (2-16)" },
    { GIMP_PDB_INT32, "iterations", "Refinement iterations T (1-20)" },
    { GIMP_PDB_INT32, "seed", "Random seed (-1 = random)" },
    { GIMP_PDB_INT32, "deterministic", "Reproducible: draw the samples from a fixed seed, ignoring the seed argument (TRUE, FALSE)" },
    { GIMP_PDB_STRING, "weights", "Weights file (.safetensors); empty: the default shipped model" },
    { GIMP_PDB_STRING, "content", "Layer content: \"original\" (original pixels, inpainted where occluded) or \"reconstruction\"" },
    { GIMP_PDB_INT32, "restarts", "Inference runs from different samples, the one with the lowest loss kept (1-16)" },
  };
  gimp_plugin_domain_register (GETTEXT_PACKAGE, IODINE_LOCALEDIR);
  gimp_install_procedure (IODINE_PROCEDURE,
                          N_("Decompose the image into objects, one layer each (IODINE)"),
                          "Runs an IODINE model (iterative amortized inference, Greff et al. 2019) "
                          "on the layer or selection and adds a layer group \"Objects\" above it "
                          "with one layer per object, masked by the object's soft mask at full "
                          "resolution. Occluded parts are inpainted by the model.",
                          "gimp-iodine authors", "gimp-iodine authors", "2025",
                          N_("Decompose into _Objects…"),
                          "RGB*, GRAY*, INDEXED*", GIMP_PLUGIN,
                          G_N_ELEMENTS (args), 0, args, NULL);
  gimp_plugin_menu_register (IODINE_PROCEDURE, "<Image>/Filters");
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  GError *error = NULL;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;

  (void) name;
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;

  iodine_plugin_i18n_init ();
  textdomain (GETTEXT_PACKAGE);
  gegl_init (NULL, NULL);
  /* exact pixel formats in both directions (else GIMP converts tiles to a
   * legacy 8-bit perceptual format) */
  gimp_plugin_enable_precision ();

  GimpRunMode run_mode = param[0].data.d_int32;
  Gimp2Host host = { { &gimp2_ops }, param[1].data.d_image, param[2].data.d_drawable, 0, 0, 0, 0 };

  IodineDecomposeValues v;
  iodine_decompose_values_init (&v);
  if (run_mode != GIMP_RUN_NONINTERACTIVE && gimp_get_data_size (IODINE_PROCEDURE) == sizeof v)
    {
      gimp_get_data (IODINE_PROCEDURE, &v);
      v.weights[sizeof v.weights - 1] = '\0';
    }

  if (gimp_item_is_layer_mask (host.layer))
    host.layer = gimp_layer_from_mask (host.layer);
  if (!gimp_item_is_layer (host.layer) || gimp_item_is_group (host.layer))
    {
      g_set_error (&error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   _("Select a layer (not a channel or a layer group) to decompose"));
      status = GIMP_PDB_EXECUTION_ERROR;
      goto done;
    }

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
#ifdef IODINE_HAVE_UI
      if (gtk_init_check (NULL, NULL))
        {
          if (!iodine_plugin_dialog (&host.base, &v, &error))
            status = error ? GIMP_PDB_EXECUTION_ERROR : GIMP_PDB_CANCEL;
        }
#endif
      break;
    case GIMP_RUN_NONINTERACTIVE:
      /* 9: a caller from before restarts, which get their default */
      if (nparams != 9 && nparams != 10)
        {
          g_set_error (&error, IODINE_ERROR, IODINE_ERROR_INVALID,
                       "%s takes 10 arguments (9 without restarts), got %d",
                       IODINE_PROCEDURE, nparams);
          status = GIMP_PDB_CALLING_ERROR;
          break;
        }
      v.slots = param[3].data.d_int32;
      v.iterations = param[4].data.d_int32;
      v.seed = param[5].data.d_int32;
      v.deterministic = param[6].data.d_int32 != 0;
      if (nparams == 10)
        v.restarts = param[9].data.d_int32;
      {
        const char *weights = param[7].data.d_string ? param[7].data.d_string : "";
        if (strlen (weights) >= sizeof v.weights)
          {
            g_set_error (&error, IODINE_ERROR, IODINE_ERROR_INVALID, "weights path is too long");
            status = GIMP_PDB_CALLING_ERROR;
            break;
          }
        g_strlcpy (v.weights, weights, sizeof v.weights);
      }
      if (!iodine_plugin_content_parse (param[8].data.d_string, &v.content, &error) ||
          !iodine_plugin_values_validate (&v, &error))
        status = GIMP_PDB_CALLING_ERROR;
      break;
    case GIMP_RUN_WITH_LAST_VALS:
      break;
    }

  if (status == GIMP_PDB_SUCCESS)
    {
      if (iodine_plugin_run (&host.base, &v, &error))
        {
          gimp_set_data (IODINE_PROCEDURE, &v, sizeof v);
          if (run_mode != GIMP_RUN_NONINTERACTIVE)
            gimp_displays_flush ();
        }
      else if (g_error_matches (error, IODINE_ERROR, IODINE_ERROR_CANCELLED))
        status = GIMP_PDB_CANCEL;
      else
        status = GIMP_PDB_EXECUTION_ERROR;
    }

done:
  values[0].data.d_status = status;
  if (error)
    {
      static char message[1024];
      g_strlcpy (message, error->message, sizeof message);
      if (status != GIMP_PDB_CANCEL)
        {
          *nreturn_vals = 2;
          values[1].type = GIMP_PDB_STRING;
          values[1].data.d_string = message;
        }
      g_error_free (error);
    }
}

static const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

int
main (int argc, char *argv[])
{
  iodine_blas_prefer_fast_kernels (argv);
  iodine_blas_set_threads (0);
  char *exe = g_file_read_link ("/proc/self/exe", NULL);
  char *dir = g_path_get_dirname (exe ? exe : argv[0]);
  iodine_plugin_set_exe_dir (dir);
  g_free (dir);
  g_free (exe);
  return gimp_main (&PLUG_IN_INFO, argc, argv);
}
