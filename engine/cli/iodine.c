/* iodine: decompose an image into objects, inspect weights, evaluate. */
#include "cli-common.h"
#include "iodine-config.h"
#include "dataset.h"
#include "evaluate.h"
#include "image_io.h"
#include "iodine.h"
#include "sheet.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *PROG = "iodine";

static void
usage_all (FILE *f)
{
  fprintf (f,
           "Usage: iodine COMMAND [OPTION…]\n\n"
           "Commands:\n"
           "  decompose  split an image into object slots (spec §6 tensors, PNGs)\n"
           "  info       show a weights file's configuration and provenance\n"
           "  eval       FG-ARI and MSE of weights on generated scenes\n\n"
           "Run “iodine COMMAND --help” for the options of a command.\n"
           "Exit status: 0 success, 1 runtime error, 2 bad usage or input.\n");
}

/* Parses a command's options; FALSE with *code set on a usage error. */
static gboolean
parse_command (const char *params, GOptionEntry *entries, int *argc, char ***argv, int *code)
{
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new (params);
  if (entries)
    g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean ok = g_option_context_parse (ctx, argc, argv, &error);
  g_option_context_free (ctx);
  if (!ok)
    {
      *code = cli_usage (PROG, "%s", error->message);
      g_error_free (error);
    }
  return ok;
}

/* --verbose: every iteration's loss on stderr */
static gboolean
progress_print (const IodineProgress *p, gpointer data)
{
  (void) data;
  if (p->restarts > 1)
    fprintf (stderr, "restart %d/%d  ", p->restart + 1, p->restarts);
  fprintf (stderr, "iteration %d/%d  loss %.2f\n", p->iteration, p->iterations, p->loss);
  return TRUE;
}

/* --restarts: CLI_UNSET becomes 1 */
static int
check_restarts (int *restarts)
{
  if (*restarts == CLI_UNSET)
    *restarts = 1;
  else if (*restarts < 1 || *restarts > IODINE_MAX_RESTARTS)
    return cli_usage (PROG, "--restarts must be between 1 and %d, not %d", IODINE_MAX_RESTARTS,
                      *restarts);
  return CLI_OK;
}

/* --slots and --iterations: CLI_UNSET becomes 0 (the weights' default); any
 * value given must be in range, 0 included. */
static int
check_slots_iterations (int *slots, int *iterations)
{
  if (*slots != CLI_UNSET && (*slots < IODINE_MIN_SLOTS || *slots > IODINE_MAX_SLOTS))
    return cli_usage (PROG, "--slots must be between %d and %d, not %d", IODINE_MIN_SLOTS,
                      IODINE_MAX_SLOTS, *slots);
  if (*iterations != CLI_UNSET && (*iterations < 1 || *iterations > IODINE_MAX_ITERATIONS))
    return cli_usage (PROG, "--iterations must be between 1 and %d, not %d",
                      IODINE_MAX_ITERATIONS, *iterations);
  if (*slots == CLI_UNSET)
    *slots = 0;
  if (*iterations == CLI_UNSET)
    *iterations = 0;
  return CLI_OK;
}

/* Removes a folder this run created, with the files it wrote there. */
static void
remove_folder (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
      g_free (path);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

static int run_decompose (const char *image, const char *weights, const char *output,
                          const char *png_dir, int slots, int iterations, int restarts,
                          gint64 seed, gboolean deterministic, gboolean native,
                          gboolean verbose);

static int
cmd_decompose (int argc, char **argv)
{
  /* GOption allocates the strings it stores; freed when the command returns */
  g_autofree char *weights = NULL;
  g_autofree char *output = NULL;
  g_autofree char *png_dir = NULL;
  int slots = CLI_UNSET, iterations = CLI_UNSET, restarts = CLI_UNSET, verbose = 0;
  gint64 seed = 0;
  gboolean deterministic = FALSE, native = FALSE;
  GOptionEntry entries[] = {
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "Weights file (safetensors, required)", "FILE" },
    { "slots", 'k', 0, G_OPTION_ARG_INT, &slots, "Number of slots K (2–64; default: the weights')", "K" },
    { "iterations", 't', 0, G_OPTION_ARG_INT, &iterations, "Refinement iterations T (1–100; default: the weights')", "T" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the posterior samples (default 0)", "N" },
    { "deterministic", 'd', 0, G_OPTION_ARG_NONE, &deterministic, "Reproducible result: draw the samples from a fixed seed (--seed is ignored)", NULL },
    { "restarts", 'r', 0, G_OPTION_ARG_INT, &restarts, "Run inference N times from different samples and keep the run with the lowest loss (1–64; default 1)", "N" },
    { "native-size", 0, 0, G_OPTION_ARG_NONE, &native, "Run at the image's own size instead of resizing to the weights' training size", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the decomposition tensors (safetensors)", "FILE" },
    { "png-dir", 0, 0, G_OPTION_ARG_FILENAME, &png_dir, "Write per-slot PNGs and an overview sheet into DIR", "DIR" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print the loss of every iteration", NULL },
    { NULL }
  };
  int code = 0;
  if (!parse_command ("IMAGE — split an image into its objects", entries, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return cli_usage (PROG, "decompose needs exactly one IMAGE");
  if (!weights)
    return cli_usage (PROG, "decompose needs --weights FILE");
  if (!output && !png_dir)
    return cli_usage (PROG, "nothing to write: give --output FILE and/or --png-dir DIR");
  int code_range = check_slots_iterations (&slots, &iterations);
  if (code_range == CLI_OK)
    code_range = check_restarts (&restarts);
  if (code_range != CLI_OK)
    return code_range;
  if (output && !cli_check_output (PROG, "--output", output))
    return CLI_USAGE_ERROR;
  /* Created up front so that a bad path fails before the work. When the
   * run fails, what it created goes again (no partial output): the folder
   * and everything in it if it is new, the tensors file if it is new. */
  gboolean png_dir_created = png_dir && !g_file_test (png_dir, G_FILE_TEST_EXISTS);
  gboolean output_existed = output && g_file_test (output, G_FILE_TEST_EXISTS);
  if (png_dir && g_mkdir_with_parents (png_dir, 0755) != 0)
    {
      fprintf (stderr, "%s: cannot create the directory %s: %s\n", PROG, png_dir,
               g_strerror (errno));
      return CLI_USAGE_ERROR;
    }
  int status = run_decompose (argv[1], weights, output, png_dir, slots, iterations, restarts,
                              seed, deterministic, native, verbose);
  if (status != CLI_OK && output && !output_existed)
    g_unlink (output);
  if (status != CLI_OK && png_dir_created)
    remove_folder (png_dir);
  return status;
}

static int
run_decompose (const char *image, const char *weights, const char *output, const char *png_dir,
               int slots, int iterations, int restarts, gint64 seed, gboolean deterministic,
               gboolean native, gboolean verbose)
{
  GError *error = NULL;
  IodineModel *model = iodine_model_load (weights, &error);
  if (!model)
    return cli_fail (PROG, error);
  IodineImage *img = iodine_image_load (image, &error);
  if (!img)
    {
      iodine_model_free (model);
      return cli_fail (PROG, error);
    }
  const IodineConfig *cfg = iodine_model_config (model);
  if (!native && (img->width != cfg->width || img->height != cfg->height))
    {
      IodineImage *small = iodine_image_resize (img, cfg->width, cfg->height);
      iodine_image_free (img);
      img = small;
    }
  IodineRunOptions opt;
  iodine_run_options_init (&opt);
  opt.slots = slots;
  opt.iterations = iterations;
  opt.seed = (uint64_t) seed;
  opt.deterministic = deterministic;
  opt.restarts = restarts;
  if (verbose)
    opt.progress = progress_print;
  IodineResult *r = iodine_decompose (model, img->rgb, img->height, img->width, &opt, &error);
  iodine_image_free (img);
  if (!r)
    {
      iodine_model_free (model);
      return cli_fail (PROG, error);
    }
  int status = CLI_OK;
  if (output)
    {
      GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      g_hash_table_insert (md, "format", g_strdup ("iodine-decomposition"));
      g_hash_table_insert (md, "weights", g_strdup (weights));
      g_hash_table_insert (md, "image", g_strdup (image));
      g_hash_table_insert (md, "slots", g_strdup_printf ("%d", r->slots));
      g_hash_table_insert (md, "iterations", g_strdup_printf ("%d", r->iterations));
      g_hash_table_insert (md, "seed", g_strdup_printf ("%" G_GINT64_FORMAT, seed));
      g_hash_table_insert (md, "deterministic", g_strdup (deterministic ? "true" : "false"));
      g_hash_table_insert (md, "restarts", g_strdup_printf ("%d", restarts));
      /* The paths were checked up front; failing now (disk full, I/O) is a
       * runtime error, as in iodine-train. */
      if (!iodine_result_save (r, output, md, &error))
        {
          cli_fail (PROG, error);
          status = CLI_RUNTIME_ERROR;
        }
      g_hash_table_unref (md);
    }
  if (status == CLI_OK && png_dir && !iodine_result_write_pngs (r, png_dir, &error))
    {
      cli_fail (PROG, error);
      status = CLI_RUNTIME_ERROR;
    }
  if (status == CLI_OK)
    printf ("%d slots, %d iterations, %d×%d: loss %.2f → %.2f\n", r->slots, r->iterations,
            r->width, r->height, r->loss[0], r->loss[r->iterations]);
  iodine_result_free (r);
  iodine_model_free (model);
  return status;
}

static int
cmd_info (int argc, char **argv)
{
  int code = 0;
  if (!parse_command ("FILE — show a weights file's configuration and provenance", NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return cli_usage (PROG, "info needs exactly one weights FILE");
  GError *error = NULL;
  IodineModel *m = iodine_model_load (argv[1], &error);
  if (!m)
    return cli_fail (PROG, error);
  const IodineConfig *c = iodine_model_config (m);
  printf ("%s\n", argv[1]);
  printf ("  training size   %d×%d\n", c->width, c->height);
  printf ("  slots K         %d\n  iterations T    %d\n  latent M        %d\n", c->slots,
          c->iterations, c->latent);
  printf ("  decoder         %d × %d channels, kernel %d\n", c->dec_layers, c->dec_channels,
          c->dec_kernel);
  printf ("  refinement      %d × %d channels, kernel %d, stride 2\n", c->ref_layers,
          c->ref_channels, c->ref_kernel);
  printf ("  MLP             ");
  for (int i = 0; i < c->mlp_layers; i++)
    printf ("%s%d", i ? ", " : "", c->mlp_sizes[i]);
  printf ("\n  LSTM            %s", c->lstm_hidden ? "" : "none");
  if (c->lstm_hidden)
    printf ("%d", c->lstm_hidden);
  printf ("\n  coordinates     %s\n  pixel scale     %g\n  parameters      %zu\n",
          c->coords == IODINE_COORDS_COS3 ? "cos3" : "linear", (double) c->pixel_scale,
          iodine_model_n_params (m));
  static const char *prov[] = { "dataset", "train_steps", "train_seed", "train_options",
                                "train_history", "train_wall_s", "fg_ari", "init_weights", "init_seed",
                                "description" };
  printf ("provenance\n");
  for (size_t i = 0; i < G_N_ELEMENTS (prov); i++)
    {
      const char *v = iodine_model_metadata (m, prov[i]);
      if (v)
        printf ("  %-15s %s\n", prov[i], v);
    }
  iodine_model_free (m);
  return CLI_OK;
}

/* One line per scene, in the dataset's order (scene i is sample i of the
 * seed): a script can regenerate any scene and ask what made it hard.
 * Written whole or not at all. */
static gboolean
write_scene_scores (const char *path, const IodineSceneScore *scenes, int count, GError **error)
{
  GString *csv = g_string_new ("scene,fg_ari,mse,purity,objects\n");
  for (int i = 0; i < count; i++)
    {
      char ari[G_ASCII_DTOSTR_BUF_SIZE], mse[G_ASCII_DTOSTR_BUF_SIZE], pur[G_ASCII_DTOSTR_BUF_SIZE];
      /* empty fields where a figure is undefined (no foreground, no labels) */
      g_string_append_printf (csv, "%d,%s,%s,%s,%d\n", i,
                              isnan (scenes[i].ari) ? "" : g_ascii_formatd (ari, sizeof ari, "%.6f", scenes[i].ari),
                              g_ascii_formatd (mse, sizeof mse, "%.8f", scenes[i].mse),
                              isnan (scenes[i].purity) ? "" : g_ascii_formatd (pur, sizeof pur, "%.6f", scenes[i].purity),
                              scenes[i].objects);
    }
  gboolean ok = g_file_set_contents (path, csv->str, (gssize) csv->len, error);
  g_string_free (csv, TRUE);
  return ok;
}

static int
cmd_eval (int argc, char **argv)
{
  g_autofree char *weights = NULL;
  g_autofree char *dataset = NULL;
  g_autofree char *sheet = NULL;
  g_autofree char *scores = NULL;
  int count = 100, slots = CLI_UNSET, iterations = CLI_UNSET, restarts = CLI_UNSET;
  gint64 seed = 1000;
  GOptionEntry entries[] = {
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "Weights file (required)", "FILE" },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &dataset, "tetrominoes, multi-dsprites, multi-dsprites-binarized or scenes (default: the weights' training dataset)", "NAME" },
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Number of scenes (default 100)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the scenes (default 1000; use one not used in training)", "S" },
    { "slots", 'k', 0, G_OPTION_ARG_INT, &slots, "K (default: the weights')", "K" },
    { "iterations", 't', 0, G_OPTION_ARG_INT, &iterations, "T (default: the weights')", "T" },
    { "restarts", 'r', 0, G_OPTION_ARG_INT, &restarts, "Runs per scene, the lowest loss kept (default 1)", "N" },
    { "sheet", 0, 0, G_OPTION_ARG_FILENAME, &sheet, "Write an overview sheet of the first 6 scenes", "FILE.png" },
    { "scores", 0, 0, G_OPTION_ARG_FILENAME, &scores, "Write every scene's FG-ARI, MSE, purity and object count as CSV", "FILE.csv" },
    { NULL }
  };
  int code = 0;
  if (!parse_command ("— FG-ARI and MSE on generated scenes", entries, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return cli_usage (PROG, "unexpected argument “%s”", argv[1]);
  if (!weights)
    return cli_usage (PROG, "eval needs --weights FILE");
  if (count < 1 || count > 1000000)
    return cli_usage (PROG, "--count must be between 1 and 1000000");
  int code_range = check_slots_iterations (&slots, &iterations);
  if (code_range == CLI_OK)
    code_range = check_restarts (&restarts);
  if (code_range != CLI_OK)
    return code_range;
  if (sheet && !cli_check_output (PROG, "--sheet", sheet))
    return CLI_USAGE_ERROR;
  if (scores && !cli_check_output (PROG, "--scores", scores))
    return CLI_USAGE_ERROR;
  GError *error = NULL;
  IodineModel *m = iodine_model_load (weights, &error);
  if (!m)
    return cli_fail (PROG, error);
  const char *name = dataset ? dataset : iodine_model_metadata (m, "dataset");
  if (!name)
    {
      iodine_model_free (m);
      return cli_usage (PROG, "the weights do not say which dataset they were trained on; give --dataset");
    }
  const IodineConfig *c = iodine_model_config (m);
  IodineDataset *ds = iodine_dataset_new (name, c->height, c->width, (uint64_t) seed, &error);
  if (!ds)
    {
      iodine_model_free (m);
      return cli_fail (PROG, error);
    }
  if (!iodine_dataset_has_labels (ds))
    fprintf (stderr, "%s: %s has no ground truth; only the MSE is measured\n", PROG, name);
  IodineEvalStats st;
  IodineResult *keep[6] = { 0 };
  int n_keep = sheet ? MIN (6, count) : 0;
  int status = CLI_OK;
  g_autofree IodineSceneScore *per_scene = scores ? g_new (IodineSceneScore, count) : NULL;
  if (!iodine_evaluate (m, ds, 0, count, slots, iterations, restarts, &st, per_scene,
                        sheet ? keep : NULL, n_keep, &error))
    status = cli_fail (PROG, error);
  else
    {
      printf ("%s on %d %s scenes (seed %" G_GINT64_FORMAT ")", weights, count, name, seed);
      if (restarts > 1)
        printf (", the best of %d restarts by loss", restarts);
      printf ("\n");
      if (st.ari_count > 0)
        printf ("FG-ARI  %.4f ± %.4f  (%d scenes with foreground)\n", st.ari_mean, st.ari_std,
                st.ari_count);
      printf ("MSE     %.6f ± %.6f\n", st.mse_mean, st.mse_std);
      if (st.ari_count > 0)
        printf ("object purity %.4f (share of an object's mask mass in its main slot)\n",
                st.purity_mean);
      if (sheet && !iodine_sheet_write (sheet, keep, n_keep, 3, &error))
        status = cli_fail (PROG, error);
      /* checked up front, so failing now (disk full, I/O) is a runtime error */
      if (scores && status == CLI_OK && !write_scene_scores (scores, per_scene, count, &error))
        {
          cli_fail (PROG, error);
          status = CLI_RUNTIME_ERROR;
        }
    }
  for (int i = 0; i < n_keep; i++)
    iodine_result_free (keep[i]);
  iodine_dataset_free (ds);
  iodine_model_free (m);
  return status;
}

int
main (int argc, char **argv)
{
  iodine_blas_prefer_fast_kernels (argv);
  iodine_blas_set_threads (0);
  if (argc < 2)
    {
      usage_all (stderr);
      return CLI_USAGE_ERROR;
    }
  const char *cmd = argv[1];
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0)
    {
      usage_all (stdout);
      return CLI_OK;
    }
  if (strcmp (cmd, "--version") == 0)
    {
      printf ("iodine %s\n", IODINE_VERSION);
      return CLI_OK;
    }
  /* the command's own argv: "iodine decompose" as the program name */
  char *name = g_strdup_printf ("iodine %s", cmd);
  argv[1] = name;
  int code;
  if (strcmp (cmd, "decompose") == 0)
    code = cmd_decompose (argc - 1, argv + 1);
  else if (strcmp (cmd, "info") == 0)
    code = cmd_info (argc - 1, argv + 1);
  else if (strcmp (cmd, "eval") == 0)
    code = cmd_eval (argc - 1, argv + 1);
  else
    {
      usage_all (stderr);
      code = cli_usage (PROG, "unknown command “%s”", cmd);
    }
  g_free (name);
  return code;
}
