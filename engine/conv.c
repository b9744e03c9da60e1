#include "conv.h"
#include "conv_direct.h"
#include "conv_winograd.h"
#include "layers.h"
#include "parallel.h"

#include <glib.h>

#include <cblas.h>
#include <string.h>

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

void
conv_shape_init (ConvShape *s, int n, int h, int w, int cin, int cout, int k, int stride)
{
  s->n = n;
  s->h = h;
  s->w = w;
  s->cin = cin;
  s->cout = cout;
  s->k = k;
  s->stride = stride;
  s->pad = k / 2;
  s->ho = (h + 2 * s->pad - k) / stride + 1;
  s->wo = (w + 2 * s->pad - k) / stride + 1;
}

/* The GEMM path runs in up to CONV_MAX_PARTS parts on the engine's threads
 * (where the direct kernels are enabled and OpenBLAS therefore runs on one
 * thread; elsewhere OpenBLAS threads each product and there is one part).
 * Each part owns a column tile, a tile of column gradients and a partial
 * weight gradient. */
#define CONV_MAX_PARTS 4

static size_t
gemm_part_floats (const ConvShape *s)
{
  size_t kk = (size_t) s->k * s->k;
  return 2 * (size_t) CONV_TILE_ROWS * kk * MAX (s->cin, s->cout) + kk * s->cin * s->cout;
}

size_t
conv_workspace_floats (const ConvShape *s)
{
  return MAX (MAX (CONV_MAX_PARTS * gemm_part_floats (s), conv_direct_workspace_floats (s)),
              conv_winograd_workspace_floats (s));
}

/* Part p's scratch within work: returns its column tile, and sets (where not
 * NULL) its tile of column gradients and its partial weight gradient (used
 * by parts after the first). */
static float *
gemm_part_work (const ConvShape *s, float *work, int part, float **dcol, float **dw_part)
{
  const size_t tile = (size_t) CONV_TILE_ROWS * s->k * s->k * MAX (s->cin, s->cout);
  float *col = work + (size_t) part * gemm_part_floats (s);
  if (dcol)
    *dcol = col + tile;
  if (dw_part)
    *dw_part = col + 2 * tile;
  return col;
}

static int
gemm_parts (const ConvShape *s)
{
  /* a number that depends on the shape only, never on the thread count, so
   * that the weight gradient is summed the same way on any number of threads */
  if (!conv_direct_enabled ())
    return 1;
  return MAX (1, MIN (CONV_MAX_PARTS, s->n));
}

static inline void
copy_floats (float *restrict dst, const float *restrict src, int n)
{
  /* short runs (a few taps × channels): an inline loop the compiler
   * vectorises beats a memcpy call */
  for (int i = 0; i < n; i++)
    dst[i] = src[i];
}

/* Fills col[rows, k·k·cin] for output rows [r0, r0 + rows). A kernel row
 * whose taps all fall inside the image is one contiguous run of k·cin
 * floats in NHWC. */
static void
im2col_tile (float *col, const float *x, const ConvShape *s, size_t r0, int rows)
{
  const int k = s->k, cin = s->cin, kkc = k * k * cin;
  const size_t plane = (size_t) s->ho * s->wo;
  for (int r = 0; r < rows; r++)
    {
      size_t row = r0 + r;
      size_t n = row / plane;
      int rem = (int) (row % plane);
      int oy = rem / s->wo, ox = rem % s->wo;
      float *c = col + (size_t) r * kkc;
      const float *xn = x + n * s->h * s->w * cin;
      int ix0 = ox * s->stride - s->pad;
      gboolean inside_x = ix0 >= 0 && ix0 + k <= s->w;
      for (int ky = 0; ky < k; ky++)
        {
          int iy = oy * s->stride - s->pad + ky;
          float *dst_row = c + (size_t) ky * k * cin;
          if (iy < 0 || iy >= s->h)
            {
              memset (dst_row, 0, sizeof (float) * k * cin);
              continue;
            }
          const float *src_row = xn + (size_t) iy * s->w * cin;
          if (inside_x)
            {
              copy_floats (dst_row, src_row + (size_t) ix0 * cin, k * cin);
              continue;
            }
          for (int kx = 0; kx < k; kx++)
            {
              int ix = ix0 + kx;
              float *dst = dst_row + (size_t) kx * cin;
              if (ix < 0 || ix >= s->w)
                memset (dst, 0, sizeof (float) * cin);
              else
                copy_floats (dst, src_row + (size_t) ix * cin, cin);
            }
        }
    }
}

/* dx += the scatter of dcol[rows, k·k·cin]. */
static void
col2im_tile (float *dx, const float *dcol, const ConvShape *s, size_t r0, int rows)
{
  const int k = s->k, cin = s->cin, kkc = k * k * cin;
  const size_t plane = (size_t) s->ho * s->wo;
  for (int r = 0; r < rows; r++)
    {
      size_t row = r0 + r;
      size_t n = row / plane;
      int rem = (int) (row % plane);
      int oy = rem / s->wo, ox = rem % s->wo;
      const float *c = dcol + (size_t) r * kkc;
      float *xn = dx + n * s->h * s->w * cin;
      for (int ky = 0; ky < k; ky++)
        {
          int iy = oy * s->stride - s->pad + ky;
          if (iy < 0 || iy >= s->h)
            continue;
          for (int kx = 0; kx < k; kx++)
            {
              int ix = ox * s->stride - s->pad + kx;
              if (ix < 0 || ix >= s->w)
                continue;
              const float *src = c + ((size_t) ky * k + kx) * cin;
              float *dst = xn + ((size_t) iy * s->w + ix) * cin;
              for (int ci = 0; ci < cin; ci++)
                dst[ci] += src[ci];
            }
        }
    }
}

/* One GEMM-path call split into parts over whole images: part p takes
 * images [n·p/parts, n·(p+1)/parts) in tiles of CONV_TILE_ROWS output rows.
 * The parts are spread over the engine's threads; their number depends on
 * the shape only, and the weight gradient is summed over them in order, so
 * results do not depend on the thread count. */
typedef struct {
  const ConvShape *s;
  float *work;
  int parts;
  float *y;                 /* forward output, or dx */
  const float *x, *w, *b;
  const float *dy;
  float *dw;                /* NULL: no weight gradient */
  gboolean want_dx;         /* the scatter (stride 2) input gradient */
} GemmJob;

static void
part_rows (const GemmJob *j, int part, size_t *r0, size_t *r1)
{
  const size_t plane = (size_t) j->s->ho * j->s->wo;
  *r0 = (size_t) ((long) j->s->n * part / j->parts) * plane;
  *r1 = (size_t) ((long) j->s->n * (part + 1) / j->parts) * plane;
}

static void
gemm_forward_parts (int begin, int end, void *ctx)
{
  const GemmJob *j = ctx;
  const ConvShape *s = j->s;
  const int kkc = s->k * s->k * s->cin;
  for (int part = begin; part < end; part++)
    {
      float *col = gemm_part_work (s, j->work, part, NULL, NULL);
      size_t p0, p1;
      part_rows (j, part, &p0, &p1);
      for (size_t r0 = p0; r0 < p1; r0 += CONV_TILE_ROWS)
        {
          int rows = (int) MIN (p1 - r0, (size_t) CONV_TILE_ROWS);
          float *yt = j->y + r0 * s->cout;
          for (int r = 0; r < rows; r++)
            memcpy (yt + (size_t) r * s->cout, j->b, sizeof (float) * s->cout);
          im2col_tile (col, j->x, s, r0, rows);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, s->cout, kkc, 1.0f, col,
                       kkc, j->w, kkc, 1.0f, yt, s->cout);
        }
    }
}

/* The weight gradient (into the part's own partial sum; part 0 straight
 * into dw) and the scatter input gradient of the part's images. */
static void
gemm_backward_parts (int begin, int end, void *ctx)
{
  const GemmJob *j = ctx;
  const ConvShape *s = j->s;
  const int kkc = s->k * s->k * s->cin;
  for (int part = begin; part < end; part++)
    {
      float *dcol, *dw_part;
      float *col = gemm_part_work (s, j->work, part, &dcol, &dw_part);
      float *dw = j->dw;
      if (dw && part > 0)
        {
          dw = dw_part;
          memset (dw, 0, sizeof (float) * s->cout * kkc);
        }
      size_t p0, p1;
      part_rows (j, part, &p0, &p1);
      for (size_t r0 = p0; r0 < p1; r0 += CONV_TILE_ROWS)
        {
          int rows = (int) MIN (p1 - r0, (size_t) CONV_TILE_ROWS);
          const float *dyt = j->dy + r0 * s->cout;
          if (dw)
            {
              im2col_tile (col, j->x, s, r0, rows);
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, s->cout, kkc, rows, 1.0f,
                           dyt, s->cout, col, kkc, 1.0f, dw, kkc);
            }
          if (j->want_dx)
            {
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kkc, s->cout, 1.0f,
                           dyt, s->cout, j->w, kkc, 0.0f, dcol, kkc);
              col2im_tile (j->y, dcol, s, r0, rows);
            }
        }
    }
}

void
conv_forward (float *y, const float *x, const float *w, const float *b, const ConvShape *s,
              float *work)
{
  if (conv_winograd_available (s))
    {
      conv_winograd_forward (y, x, w, b, s, work, CONV_EPI_BIAS);
      return;
    }
  if (conv_direct_available (s))
    {
      conv_direct_forward (y, x, w, b, s, work, CONV_EPI_BIAS);
      return;
    }
  GemmJob job = { s, work, gemm_parts (s), y, x, w, b, NULL, NULL, FALSE };
  iodine_parallel_for (job.parts, gemm_forward_parts, &job);
}

/* dx += the stride-1 transposed convolution of dy: a convolution of dy
 * with the weights flipped and transposed, so every dx position is one GEMM
 * row and no scatter-add is needed. */
static void
conv_backward_input_stride1 (float *dx, const float *dy, const float *w, const ConvShape *s,
                             float *col, float *wf)
{
  const int k = s->k, cin = s->cin, cout = s->cout;
  for (int ci = 0; ci < cin; ci++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++)
        for (int co = 0; co < cout; co++)
          wf[(((size_t) ci * k + ky) * k + kx) * cout + co]
              = w[(((size_t) co * k + (k - 1 - ky)) * k + (k - 1 - kx)) * cin + ci];
  ConvShape t;
  conv_shape_init (&t, s->n, s->ho, s->wo, cout, cin, k, 1);
  const int kkc = k * k * cout;
  const size_t total = (size_t) t.n * t.ho * t.wo;
  for (size_t r0 = 0; r0 < total; r0 += CONV_TILE_ROWS)
    {
      int rows = (int) (total - r0 < CONV_TILE_ROWS ? total - r0 : CONV_TILE_ROWS);
      im2col_tile (col, dy, &t, r0, rows);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, cin, kkc, 1.0f, col, kkc, wf,
                   kkc, 1.0f, dx + r0 * cin, cin);
    }
}

/* The vector kernel (AVX-512 or AVX2) that computes the stride-1 input gradient of s, if one
 * takes the shape: dx += that gradient, or dx = it · ELU' given the ELU's
 * output (conv_winograd.h, conv_direct.h). */
typedef void (*InputGradientFn) (float *dx, const float *dy, const float *w, const ConvShape *s,
                                 float *work, const float *elu_out);

static InputGradientFn
simd_input_gradient (const ConvShape *s)
{
  if (conv_winograd_backward_input_available (s))
    return conv_winograd_backward_input;
  if (conv_direct_backward_input_available (s))
    return conv_direct_backward_input;
  return NULL;
}

void
conv_backward (float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
               const ConvShape *s, float *work)
{
  const int kkc = s->k * s->k * s->cin;
  const size_t total = (size_t) s->n * s->ho * s->wo;
  const size_t tile = (size_t) CONV_TILE_ROWS * s->k * s->k * MAX (s->cin, s->cout);
  const gboolean transposed = s->stride == 1 && s->k % 2 == 1;
  const gboolean wino_dw = dw && conv_winograd_backward_weights_available (s);
  const gboolean direct_dw = dw && !wino_dw && conv_direct_backward_weights_available (s);
  if (db)
    for (size_t r = 0; r < total; r++)
      {
        const float *d = dy + r * s->cout;
        for (int o = 0; o < s->cout; o++)
          db[o] += d[o];
      }
  GemmJob job = { s, work, gemm_parts (s), dx, x, w, NULL, dy, direct_dw || wino_dw ? NULL : dw,
                  dx && !transposed };
  if (job.dw || job.want_dx)
    {
      iodine_parallel_for (job.parts, gemm_backward_parts, &job);
      /* the parts' partial weight gradients, in order */
      if (job.dw)
        for (int p = 1; p < job.parts; p++)
          {
            float *part;
            gemm_part_work (s, work, p, NULL, &part);
            for (size_t i = 0; i < (size_t) s->cout * kkc; i++)
              dw[i] += part[i];
          }
    }
  if (wino_dw)
    conv_winograd_backward_weights (dw, dy, x, s, work);
  else if (direct_dw)
    conv_direct_backward_weights (dw, dy, x, s, work);
  const InputGradientFn simd_dx = dx && transposed ? simd_input_gradient (s) : NULL;
  if (simd_dx)
    simd_dx (dx, dy, w, s, work, NULL);
  else if (dx && transposed)
    conv_backward_input_stride1 (dx, dy, w, s, work, work + 2 * tile);
}

void
conv_forward_elu (float *y, const float *x, const float *w, const float *b, const ConvShape *s,
                  float *work)
{
  if (conv_winograd_available (s))
    conv_winograd_forward (y, x, w, b, s, work, CONV_EPI_BIAS_ELU);
  else if (conv_direct_forward_elu_available (s))
    conv_direct_forward (y, x, w, b, s, work, CONV_EPI_BIAS_ELU);
  else
    {
      conv_forward (y, x, w, b, s, work);
      elu_forward (y, y, (size_t) s->n * s->ho * s->wo * s->cout);
    }
}

void
conv_backward_elu (float *dx, float *dw, float *db, const float *dy, const float *x,
                   const float *w, const ConvShape *s, float *work)
{
  const InputGradientFn simd_dx = simd_input_gradient (s);
  if (simd_dx)
    {
      conv_backward (NULL, dw, db, dy, x, w, s, work);
      simd_dx (dx, dy, w, s, work, x);
    }
  else
    {
      const size_t n = (size_t) s->n * s->h * s->w * s->cin;
      memset (dx, 0, sizeof (float) * n);
      conv_backward (dx, dw, db, dy, x, w, s, work);
      elu_grad_scale (dx, x, n);
    }
}

void
conv_weight_from_torch (float *dst, const float *src, int cout, int cin, int k)
{
  for (int o = 0; o < cout; o++)
    for (int i = 0; i < cin; i++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          dst[(((size_t) o * k + ky) * k + kx) * cin + i]
              = src[(((size_t) o * cin + i) * k + ky) * k + kx];
}

void
conv_weight_to_torch (float *dst, const float *src, int cout, int cin, int k)
{
  for (int o = 0; o < cout; o++)
    for (int i = 0; i < cin; i++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          dst[(((size_t) o * cin + i) * k + ky) * k + kx]
              = src[(((size_t) o * k + ky) * k + kx) * cin + i];
}
