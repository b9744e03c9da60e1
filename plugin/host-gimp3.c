/* The GIMP 3.0 host: a GimpPlugIn with one GimpImageProcedure whose
 * arguments live in a GimpProcedureConfig (which also keeps the last
 * values); pixels through GEGL buffers. */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "host.h"
#include "host-gegl.h"
#include "iodine-config.h"

/* ---- host ---------------------------------------------------------------- */

typedef struct {
  IodineHost base;
  GimpImage *image;
  GimpLayer *layer;    /* the source layer */
  int x, y;            /* the region in the layer's coordinates */
  int ox, oy;          /* the layer's offsets */
} Gimp3Host;

static IodineRegion *
gimp3_read_region (IodineHost *base, GError **error)
{
  Gimp3Host *host = (Gimp3Host *) base;
  GimpDrawable *drawable = GIMP_DRAWABLE (host->layer);
  int x, y, w, h;
  if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
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
  gimp_drawable_get_offsets (drawable, &host->ox, &host->oy);

  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);
  GeglBuffer *sb = has_selection
                       ? gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (host->image)))
                       : NULL;
  host_read_region (region, buffer, sb, x, y, host->ox + x, host->oy + y, w, h);
  g_object_unref (buffer);
  if (sb)
    g_object_unref (sb);
  return region;
}

static void
gimp3_progress_start (IodineHost *base, const char *text)
{
  (void) base;
  gimp_progress_init (text);
}

static gboolean
gimp3_progress_update (IodineHost *base, double fraction)
{
  (void) base;
  return gimp_progress_update (fraction);
}

static gboolean
gimp3_write_layers (IodineHost *base, const IodineDecomposition *d,
                    IodineContentMode content, GError **error)
{
  Gimp3Host *host = (Gimp3Host *) base;
  int w = iodine_decomposition_width (d), h = iodine_decomposition_height (d);
  int strip;
  float *rgba, *mask;
  if (!host_strip_buffers (w, h, &strip, &rgba, &mask, error))
    return FALSE;
  GimpImageType type;
  switch (gimp_image_get_base_type (host->image))
    {
    case GIMP_GRAY: type = GIMP_GRAYA_IMAGE; break;
    case GIMP_INDEXED: type = GIMP_INDEXEDA_IMAGE; break;
    default: type = GIMP_RGBA_IMAGE; break;
    }

  gboolean ok = FALSE;
  gimp_image_undo_group_start (host->image);
  GimpItem *parent_item = gimp_item_get_parent (GIMP_ITEM (host->layer));
  GimpLayer *parent = parent_item ? GIMP_LAYER (parent_item) : NULL;
  gint position = gimp_image_get_item_position (host->image, GIMP_ITEM (host->layer));
  GimpGroupLayer *group = gimp_group_layer_new (host->image, _("Objects"));
  if (!group)
    goto out;
  if (!gimp_image_insert_layer (host->image, GIMP_LAYER (group), parent, position))
    goto out;
  for (int i = 0; i < iodine_decomposition_n_layers (d); i++)
    {
      GimpLayer *layer = gimp_layer_new (host->image, iodine_decomposition_layer_name (d, i),
                                         w, h, type, 100.0, GIMP_LAYER_MODE_NORMAL);
      if (!layer || !gimp_image_insert_layer (host->image, layer, GIMP_LAYER (group), i))
        goto remove;
      gimp_layer_set_offsets (layer, host->ox + host->x, host->oy + host->y);
      gboolean white = host_mask_starts_white (d, i);
      GimpLayerMask *lmask = gimp_layer_create_mask (layer, white ? GIMP_ADD_MASK_WHITE : GIMP_ADD_MASK_BLACK);
      if (!lmask || !gimp_layer_add_mask (layer, lmask))
        goto remove;
      GeglBuffer *lb = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
      GeglBuffer *mb = gimp_drawable_get_buffer (GIMP_DRAWABLE (lmask));
      host_write_layer (lb, mb, d, i, content, strip, rgba, mask, white);
      g_object_unref (lb);
      g_object_unref (mb);
      gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, w, h);
      gimp_drawable_update (GIMP_DRAWABLE (lmask), 0, 0, w, h);
    }
  ok = TRUE;
  goto out;

remove:
  gimp_image_remove_layer (host->image, GIMP_LAYER (group));
out:
  gimp_image_undo_group_end (host->image);
  if (!ok)
    g_set_error (error, IODINE_ERROR, IODINE_ERROR_IO, _("Could not add the layers: %s"),
                 gimp_pdb_get_last_error (gimp_get_pdb ()));
  g_free (rgba);
  g_free (mask);
  return ok;
}

static void
gimp3_make_transient (GtkWidget *dialog, gpointer data)
{
  (void) data;
  gimp_window_set_transient (GTK_WINDOW (dialog));
}

static const IodineHostOps gimp3_ops = {
  gimp3_read_region,
  gimp3_progress_start,
  gimp3_progress_update,
  gimp3_write_layers,
  gimp3_make_transient,
};

/* ---- the plug-in --------------------------------------------------------- */

#define IODINE_TYPE_PLUG_IN (iodine_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (IodinePlugIn, iodine_plug_in, IODINE, PLUG_IN, GimpPlugIn)

struct _IodinePlugIn
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (IodinePlugIn, iodine_plug_in, GIMP_TYPE_PLUG_IN)

static GimpValueArray *
fail (GimpProcedure *procedure, GimpPDBStatusType status, GError *error)
{
  return gimp_procedure_new_return_values (procedure, status, error);
}

static GimpValueArray *
iodine_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
            GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data)
{
  GError *error = NULL;
  (void) run_data;

  if (!drawables || !drawables[0] || drawables[1])
    {
      g_set_error (&error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   _("Select exactly one layer to decompose"));
      return fail (procedure, GIMP_PDB_CALLING_ERROR, error);
    }
  GimpDrawable *drawable = drawables[0];
  GimpLayer *layer = NULL;
  if (GIMP_IS_LAYER_MASK (drawable))
    layer = gimp_layer_from_mask (GIMP_LAYER_MASK (drawable));
  else if (GIMP_IS_LAYER (drawable) && !gimp_item_is_group (GIMP_ITEM (drawable)))
    layer = GIMP_LAYER (drawable);
  if (!layer)
    {
      g_set_error (&error, IODINE_ERROR, IODINE_ERROR_INVALID,
                   _("Select a layer (not a channel or a layer group) to decompose"));
      return fail (procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }

  IodineDecomposeValues v;
  iodine_decompose_values_init (&v);
  int slots = 0, iterations = 0, seed = 0, restarts = 0;
  gboolean deterministic = FALSE;
  char *weights = NULL;
  g_object_get (config, "slots", &slots, "iterations", &iterations, "seed", &seed,
                "deterministic", &deterministic, "weights", &weights, "restarts", &restarts,
                NULL);
  v.slots = slots;
  v.iterations = iterations;
  v.restarts = restarts;
  v.seed = seed;
  v.deterministic = deterministic;
  if (weights && strlen (weights) >= sizeof v.weights)
    {
      g_free (weights);
      g_set_error (&error, IODINE_ERROR, IODINE_ERROR_INVALID, "weights path is too long");
      return fail (procedure, GIMP_PDB_CALLING_ERROR, error);
    }
  g_strlcpy (v.weights, weights ? weights : "", sizeof v.weights);
  g_free (weights);
  v.content = gimp_procedure_config_get_choice_id (config, "content") == IODINE_CONTENT_RECONSTRUCTION
              ? IODINE_CONTENT_RECONSTRUCTION : IODINE_CONTENT_ORIGINAL;

  Gimp3Host host = { { &gimp3_ops }, image, layer, 0, 0, 0, 0 };

  if (run_mode == GIMP_RUN_INTERACTIVE && iodine_plugin_have_dialog ())
    {
      gimp_ui_init (IODINE_PLUGIN_BINARY);
      if (!iodine_plugin_dialog (&host.base, &v, &error))
        return fail (procedure, error ? GIMP_PDB_EXECUTION_ERROR : GIMP_PDB_CANCEL, error);
      g_object_set (config, "slots", v.slots, "iterations", v.iterations,
                    "seed", (int) CLAMP (v.seed, -1, G_MAXINT),
                    "deterministic", v.deterministic, "weights", v.weights,
                    "content", iodine_plugin_content_name (v.content),
                    "restarts", v.restarts, NULL);
    }
  if (!iodine_plugin_values_validate (&v, &error))
    return fail (procedure, GIMP_PDB_CALLING_ERROR, error);

  if (!iodine_plugin_run (&host.base, &v, &error))
    {
      if (g_error_matches (error, IODINE_ERROR, IODINE_ERROR_CANCELLED))
        {
          g_clear_error (&error);
          return fail (procedure, GIMP_PDB_CANCEL, NULL);
        }
      return fail (procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }
  gimp_displays_flush ();
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

static GList *
iodine_query_procedures (GimpPlugIn *plug_in)
{
  (void) plug_in;
  return g_list_append (NULL, g_strdup (IODINE_PROCEDURE));
}

static GimpProcedure *
iodine_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  if (strcmp (name, IODINE_PROCEDURE) != 0)
    return NULL;
  GimpProcedure *procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                       iodine_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*, INDEXED*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("Decompose into _Objects…"));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters");
  gimp_procedure_set_documentation (procedure,
    _("Decompose the image into objects, one layer each (IODINE)"),
    "Runs an IODINE model (iterative amortized inference, Greff et al. 2019) "
    "on the layer or selection and adds a layer group \"Objects\" above it "
    "with one layer per object, masked by the object's soft mask at full "
    "resolution. Occluded parts are inpainted by the model.",
    name);
  gimp_procedure_set_attribution (procedure, "gimp-iodine authors", "gimp-iodine authors", "2025");

  gimp_procedure_add_int_argument (procedure, "slots", _("_Slots"),
                                   _("Number of slots K (2-16)"),
                                   IODINE_SLOTS_MIN, IODINE_SLOTS_MAX, IODINE_SLOTS_DEFAULT,
                                   G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "iterations", _("_Iterations"),
                                   _("Refinement iterations T (1-20)"),
                                   IODINE_ITERATIONS_MIN, IODINE_ITERATIONS_MAX,
                                   IODINE_ITERATIONS_DEFAULT, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed", _("S_eed"),
                                   _("Random seed (-1 = random)"),
                                   -1, G_MAXINT, -1, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "deterministic", _("_Deterministic"),
                                       _("Reproducible: draw the samples from a fixed seed"),
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "weights", _("_Weights"),
                                      _("Weights file (.safetensors); empty: the default shipped model"),
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "content", _("_Content"),
                                      _("Layer content: original pixels (inpainted where occluded) or the reconstruction"),
                                      gimp_choice_new_with_values ("original", IODINE_CONTENT_ORIGINAL, _("Original"), NULL,
                                                                   "reconstruction", IODINE_CONTENT_RECONSTRUCTION, _("Reconstruction"), NULL,
                                                                   NULL),
                                      "original", G_PARAM_READWRITE);
  /* last, so that callers from before it keep their argument positions */
  gimp_procedure_add_int_argument (procedure, "restarts", _("Res_tarts"),
                                   _("Inference runs from different samples, the one with the lowest loss kept (1-16)"),
                                   IODINE_RESTARTS_MIN, IODINE_RESTARTS_MAX,
                                   IODINE_RESTARTS_DEFAULT, G_PARAM_READWRITE);
  return procedure;
}

static gboolean
iodine_set_i18n (GimpPlugIn *plug_in, const gchar *procedure_name,
                 gchar **gettext_domain, gchar **catalog_dir)
{
  (void) plug_in;
  (void) procedure_name;
  /* GIMP 3 only accepts a catalog directory inside the plug-in's folder:
   * the install puts a link "locale" there to the system's locale dir. */
  char *base = g_path_get_dirname (gimp_get_progname ());
  char *dir = g_build_filename (base, "locale", NULL);
  gboolean have = g_file_test (dir, G_FILE_TEST_IS_DIR);
  g_free (dir);
  g_free (base);
  if (!have)
    {
      iodine_plugin_i18n_init ();
      return FALSE;
    }
  *gettext_domain = g_strdup (GETTEXT_PACKAGE);
  *catalog_dir = g_strdup ("locale");
  return TRUE;
}

static void
iodine_plug_in_class_init (IodinePlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);
  plug_in_class->query_procedures = iodine_query_procedures;
  plug_in_class->create_procedure = iodine_create_procedure;
  plug_in_class->set_i18n = iodine_set_i18n;
}

static void
iodine_plug_in_init (IodinePlugIn *plug_in)
{
  (void) plug_in;
}

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
  return gimp_main (IODINE_TYPE_PLUG_IN, argc, argv);
}
