/* Multi-dSprites (as DeepMind's multi_object_datasets): 64×64 scenes of
 * dSprites shapes (square, ellipse, heart) with the dSprites latent grid:
 * 6 scales in [0.5, 1], 40 rotations in [0, 2π), 32×32 positions.
 * "colored_on_grayscale": 2–5 sprites of uniform random HSV colour on a grey
 * background of uniform random brightness. Binarized: 2–3 white sprites on
 * black. Later sprites occlude earlier ones; labels are the visible sprite.
 * Shapes are rendered from analytic definitions (no antialiasing). */
#include "dataset_private.h"

#include <math.h>
#include <string.h>

#define N 64
/* Half-size in pixels of a sprite at scale 1 (square side ≈ 0.36 N, as dSprites). */
#define HALF_SIZE (0.18 * N)
/* Fewer visible pixels than this and the scene is drawn again. */
#define MIN_VISIBLE 10

/* Inside test in sprite coordinates: (u, v) in units of the half-size,
 * v pointing down. */
static gboolean
inside (int shape, double u, double v)
{
  switch (shape)
    {
    case 0: /* square */
      return fabs (u) <= 1.0 && fabs (v) <= 1.0;
    case 1: /* ellipse, 2:1 like dSprites' */
      return (u * u) / (1.2 * 1.2) + (v * v) / (0.7 * 0.7) <= 1.0;
    default:
      {
        /* Heart curve (x² + y² − 1)³ − x²y³ ≤ 0 (y up, point at the bottom),
         * spanning about x ∈ ±1.14, y ∈ [−1, 1.24]; centred and scaled to
         * roughly the square's extent. */
        double x = u * 1.2, y = -v * 1.2 + 0.12;
        double a = x * x + y * y - 1.0;
        return a * a * a - x * x * y * y * y <= 0.0;
      }
    }
}

void
iodine_hsv_to_rgb (double h, double s, double v, float rgb[3])
{
  double hh = h * 6.0;
  int i = (int) floor (hh) % 6;
  double f = hh - floor (hh);
  double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (i)
    {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
    }
  rgb[0] = (float) r;
  rgb[1] = (float) g;
  rgb[2] = (float) b;
}

/* Draws one scene; FALSE if some sprite ended up (almost) hidden. */
static gboolean
try_scene (IodineRng *rng, gboolean binarized, float *image, uint8_t *labels)
{
  int n = binarized ? 2 + (int) iodine_rng_below (rng, 2)
                    : 2 + (int) iodine_rng_below (rng, 4);
  float bg = binarized ? 0.0f : (float) iodine_rng_uniform (rng);
  for (int i = 0; i < N * N; i++)
    {
      image[i * 3 + 0] = image[i * 3 + 1] = image[i * 3 + 2] = bg;
      labels[i] = 0;
    }

  for (int s = 1; s <= n; s++)
    {
      int shape = (int) iodine_rng_below (rng, 3);
      double scale = 0.5 + 0.1 * iodine_rng_below (rng, 6);
      double angle = 2.0 * G_PI * iodine_rng_below (rng, 40) / 40.0;
      double px = iodine_rng_below (rng, 32) / 31.0;
      double py = iodine_rng_below (rng, 32) / 31.0;
      float rgb[3] = { 1.0f, 1.0f, 1.0f };
      if (!binarized)
        {
          double h = iodine_rng_uniform (rng);
          double sat = iodine_rng_uniform (rng);
          double val = iodine_rng_uniform (rng);
          iodine_hsv_to_rgb (h, sat, val, rgb);
        }
      /* Centres over the middle 80% so that big sprites stay mostly inside. */
      double cx = (0.1 + 0.8 * px) * N, cy = (0.1 + 0.8 * py) * N;
      double r = HALF_SIZE * scale;
      double ca = cos (angle), sa = sin (angle);
      int x0 = MAX (0, (int) floor (cx - 1.5 * r)), x1 = MIN (N - 1, (int) ceil (cx + 1.5 * r));
      int y0 = MAX (0, (int) floor (cy - 1.5 * r)), y1 = MIN (N - 1, (int) ceil (cy + 1.5 * r));
      for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
          {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double u = (ca * dx + sa * dy) / r, v = (-sa * dx + ca * dy) / r;
            if (!inside (shape, u, v))
              continue;
            int i = y * N + x;
            memcpy (image + i * 3, rgb, sizeof rgb);
            labels[i] = (uint8_t) s;
          }
    }

  return iodine_labels_all_visible (labels, N * N, n, MIN_VISIBLE);
}

void
iodine_dsprites_render (IodineRng *rng, gboolean binarized, float *image, uint8_t *labels)
{
  uint8_t scratch[N * N];
  uint8_t *l = labels ? labels : scratch;
  /* The same stream continues, so the result is still a function of it. */
  while (!try_scene (rng, binarized, image, l))
    ;
}
