/* libiodine — IODINE (Greff et al., ICML 2019) scene decomposition in C.
 *
 * The model, its weight file and its output follow shared/iodine-spec.md.
 *
 * Thread safety: an IodineModel is read-only after loading and may be shared
 * by any number of threads; every call that runs the model allocates its own
 * working state, so concurrent iodine_decompose() calls on one model are safe.
 * No function keeps global state, except that OpenBLAS's thread count is
 * process-wide (see iodine_blas_init()).
 *
 * Images are float RGB in [0, 1], row-major, channels last (H × W × 3).
 * Errors are reported through GError in the IODINE_ERROR domain; messages
 * name the file, tensor or option that is wrong.
 */
#ifndef IODINE_H
#define IODINE_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define IODINE_ERROR (iodine_error_quark ())
GQuark iodine_error_quark (void);

typedef enum {
  IODINE_ERROR_IO,           /* file cannot be read or written */
  IODINE_ERROR_FORMAT,       /* file is not what it claims (corrupt, truncated) */
  IODINE_ERROR_MISMATCH,     /* well-formed but does not fit (shapes, version) */
  IODINE_ERROR_INVALID,      /* argument or option out of range */
  IODINE_ERROR_MEMORY,       /* working set above the documented limit */
  IODINE_ERROR_NONFINITE,    /* NaN or Inf in weights or during a run */
  IODINE_ERROR_CANCELLED,    /* the progress callback asked to stop */
} IodineErrorCode;

typedef enum { IODINE_COORDS_COS3 = 0, IODINE_COORDS_LINEAR = 1 } IodineCoords;

#define IODINE_MAX_MLP 4
#define IODINE_MIN_SLOTS 2
#define IODINE_MAX_SLOTS 64
#define IODINE_MAX_ITERATIONS 100
#define IODINE_MAX_RESTARTS 64
/* The largest working set iodine_decompose() accepts, in bytes: a run that
 * would need more is refused up front with IODINE_ERROR_MEMORY. */
#define IODINE_MAX_WORKING_SET ((size_t) 4 << 30)

/* Architecture and defaults of one model (spec §2 and §4). */
typedef struct {
  int height, width;          /* training size */
  int slots;                  /* K, default at run time */
  int iterations;             /* T, default at run time */
  int latent;                 /* M */
  int dec_layers, dec_channels, dec_kernel;   /* hidden convs of the decoder */
  int ref_layers, ref_channels, ref_kernel;   /* encoder convs (stride 2) */
  int mlp_layers;
  int mlp_sizes[IODINE_MAX_MLP];
  int lstm_hidden;            /* 0: no LSTM */
  IodineCoords coords;        /* refinement coordinate channels */
  float pixel_scale;          /* s_x of the logistic likelihood */
} IodineConfig;

/* Fills cfg with a spec §4 configuration: "tetrominoes", "multi-dsprites"
 * or "clevr". */
gboolean iodine_config_preset (const char *name, IodineConfig *cfg, GError **error);
/* Checks every field for range and consistency. */
gboolean iodine_config_validate (const IodineConfig *cfg, GError **error);
/* Number of channels of the refinement network's spatial input. */
int iodine_config_refine_inputs (const IodineConfig *cfg);
/* Number of coordinate channels of the refinement input (8 or 2). */
int iodine_config_coord_channels (const IodineConfig *cfg);

typedef struct IodineModel IodineModel;

/* Loads and validates a spec §5 weights file (dtype, offsets, every tensor
 * present with a consistent shape, metadata, finite values). */
IodineModel *iodine_model_load (const char *path, GError **error);
/* A model with the reference initialisation (spec §1), seeded. */
IodineModel *iodine_model_new_random (const IodineConfig *cfg, uint64_t seed, GError **error);
/* Writes the weights and metadata atomically (temp file, fsync, rename).
 * extra_metadata (string → string, may be NULL) adds provenance keys. */
gboolean iodine_model_save (const IodineModel *model, const char *path,
                            GHashTable *extra_metadata, GError **error);
void iodine_model_free (IodineModel *model);

const IodineConfig *iodine_model_config (const IodineModel *model);
/* Changes what the weights do not depend on: the training size and the
 * default K and T (0 keeps a value), e.g. to fine-tune at another size. */
gboolean iodine_model_set_defaults (IodineModel *model, int height, int width, int slots,
                                    int iterations, GError **error);
/* A metadata value of the loaded file ("dataset", "fg_ari", ...), or NULL. */
const char *iodine_model_metadata (const IodineModel *model, const char *key);
/* Sets a metadata value kept and written by iodine_model_save(). */
void iodine_model_set_metadata (IodineModel *model, const char *key, const char *value);
/* Removes every metadata key that starts with prefix. */
void iodine_model_remove_metadata_prefix (IodineModel *model, const char *prefix);
/* Total number of parameters. */
size_t iodine_model_n_params (const IodineModel *model);

/* What a progress callback is told after every iteration t = 0..T of every
 * restart r = 0..R−1. */
typedef struct {
  int restart, restarts;      /* r, from 0, of R runs */
  int iteration, iterations;  /* t of T, within the run */
  float loss;                 /* L_t of this run */
  double fraction;            /* share of the whole job done, in (0, 1] */
} IodineProgress;

/* Return FALSE to cancel; the run then fails with IODINE_ERROR_CANCELLED. */
typedef gboolean (*IodineProgressFunc) (const IodineProgress *progress, gpointer user_data);

typedef struct {
  int slots;                  /* K ≥ 2; 0: the model's default */
  int iterations;             /* T ≥ 1; 0: the model's default */
  uint64_t seed;              /* for the posterior samples */
  /* Reproducible: the samples come from IODINE_DETERMINISTIC_SEED whatever
   * seed says. (Not ε = 0: all slots start from the same λ, and without
   * noise they would stay identical.) */
  gboolean deterministic;
  /* Runs inference this many times (0 or 1: once) from different samples
   * and keeps the run with the lowest final loss L_T, the model's own
   * objective (no ground truth): the noise that breaks the slots' symmetry
   * decides which grouping a run settles in, and a poor one (two pieces of
   * one colour in one slot) usually has a worse ELBO. Restart r draws from
   * the seed advanced by r, so restart 0 is the single run. */
  int restarts;
  IodineProgressFunc progress;
  gpointer progress_data;
} IodineRunOptions;

#define IODINE_DETERMINISTIC_SEED 0x10d14eULL

/* The seed restart r of a run with this seed draws its samples from
 * (restart 0: the seed itself). */
uint64_t iodine_restart_seed (uint64_t seed, int restart);

/* Sets the defaults: model's K and T, seed 0, sampling, one run. */
void iodine_run_options_init (IodineRunOptions *options);

/* The decomposition of one image (spec §6). All arrays are owned. */
typedef struct {
  int slots, iterations, height, width, latent;
  float *image;               /* [H, W, 3] */
  float *masks;               /* [K, H, W], sums to 1 over K */
  float *mask_logits;         /* [K, H, W] */
  float *means;               /* [K, H, W, 3] */
  float *lambda;              /* [K, 2M]: μ_z then s */
  float *masks_per_iteration; /* [T+1, K, H, W] */
  float *loss, *nll, *kl;     /* [T+1] */
} IodineResult;

/* Bytes of memory a decomposition of this size needs (for up-front refusal). */
size_t iodine_decompose_working_set (const IodineModel *model, int height, int width, int slots);

/* Runs T refinement iterations on one H × W image of any size. */
IodineResult *iodine_decompose (const IodineModel *model, const float *image,
                                int height, int width,
                                const IodineRunOptions *options, GError **error);
void iodine_result_free (IodineResult *result);
/* Writes the spec §6 tensors; metadata (may be NULL) is added to the file's. */
gboolean iodine_result_save (const IodineResult *result, const char *path,
                             GHashTable *metadata, GError **error);

/* Makes OpenBLAS use its fastest kernels on this CPU: on a CPU with AVX-512
 * and an OpenBLAS that does not know it, re-executes the program with
 * OPENBLAS_CORETYPE=SkylakeX before the library has started. Call first
 * thing in main(); argv is passed to execv. Does nothing if the variable is
 * already set, unless it names kernels this CPU cannot execute (SkylakeX on
 * an AVX2 CPU): then it says so on stderr and re-executes without it, where
 * the program would otherwise die of SIGILL at its first matrix product. */
void iodine_blas_prefer_fast_kernels (char **argv);
/* Number of threads the engine computes with (process-wide; ≤ 0: every
 * core): the direct convolution kernels on AVX-512 CPUs, else OpenBLAS. */
void iodine_blas_set_threads (int n);

G_END_DECLS

#endif
