/* "scenes": the training mix of the general model (weights/general). 64×64
 * pictures of 1–5 objects over varied backgrounds, richer than Tetrominoes
 * and Multi-dSprites in every direction a photograph varies:
 *  - backgrounds: a flat colour, a linear gradient between two colours, or a
 *    smooth texture (a few random low-frequency waves around a colour);
 *  - objects: the dSprites shapes (square, ellipse, heart), rectangles,
 *    triangles, discs and tetromino-like polyominoes, at scales from small
 *    (~6 px) to large (~40 px), any rotation, overlapping in depth order;
 *  - object surfaces: a flat colour, a shading ramp across the object
 *    (light from one side), or stripes of two related colours;
 *  - colours: uniform in HSV, so some objects are close to the background;
 *  - camera: in half of the scenes Gaussian pixel noise (σ up to 0.04).
 * Labels are the visible object (0: background), as in the other datasets.
 * Every draw comes from the scene's own random stream. */
#include "dataset_private.h"

#include <math.h>
#include <string.h>

#define N IODINE_SCENES_SIZE
#define MIN_VISIBLE 12

static void
random_colour (IodineRng *rng, float rgb[3])
{
  /* three draws in this order (arguments' evaluation order is unspecified) */
  double h = iodine_rng_uniform (rng), s = iodine_rng_uniform (rng);
  double v = 0.15 + 0.85 * iodine_rng_uniform (rng);
  iodine_hsv_to_rgb (h, s, v, rgb);
}

static void
background (IodineRng *rng, float *image)
{
  float a[3], b[3];
  random_colour (rng, a);
  random_colour (rng, b);
  int kind = (int) iodine_rng_below (rng, 3);
  double angle = 2 * G_PI * iodine_rng_uniform (rng);
  double ca = cos (angle), sa = sin (angle);
  double fx[3], fy[3], ph[3], amp = 0.08 + 0.12 * iodine_rng_uniform (rng);
  for (int w = 0; w < 3; w++)
    {
      fx[w] = (iodine_rng_uniform (rng) * 2 - 1) * 3.0 * 2 * G_PI / N;
      fy[w] = (iodine_rng_uniform (rng) * 2 - 1) * 3.0 * 2 * G_PI / N;
      ph[w] = 2 * G_PI * iodine_rng_uniform (rng);
    }
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      {
        float *px = image + ((size_t) y * N + x) * 3;
        if (kind == 0)
          memcpy (px, a, sizeof a);
        else if (kind == 1)
          {
            /* the gradient runs across the picture along the angle */
            double t = CLAMP (0.5 + ((x + 0.5 - N / 2.0) * ca + (y + 0.5 - N / 2.0) * sa) / (1.42 * N),
                              0.0, 1.0);
            for (int c = 0; c < 3; c++)
              px[c] = (float) (a[c] + (b[c] - a[c]) * t);
          }
        else
          {
            double wave = 0;
            for (int w = 0; w < 3; w++)
              wave += sin (fx[w] * x + fy[w] * y + ph[w]) / 3.0;
            for (int c = 0; c < 3; c++)
              px[c] = (float) CLAMP (a[c] + amp * wave * (c == 0 ? 1.0 : c == 1 ? 0.8 : 0.6), 0.0,
                                     1.0);
          }
      }
}

/* A polyomino of 3–6 cells grown from one cell, as a 6×6 occupancy grid. */
static void
polyomino (IodineRng *rng, gboolean grid[6][6])
{
  memset (grid, 0, sizeof (gboolean) * 36);
  int cells = 3 + (int) iodine_rng_below (rng, 4), have = 1;
  grid[2][2] = TRUE;
  while (have < cells)
    {
      int y = (int) iodine_rng_below (rng, 6), x = (int) iodine_rng_below (rng, 6);
      if (grid[y][x])
        continue;
      gboolean touches = (y > 0 && grid[y - 1][x]) || (y < 5 && grid[y + 1][x])
                         || (x > 0 && grid[y][x - 1]) || (x < 5 && grid[y][x + 1]);
      if (touches)
        grid[y][x] = TRUE, have++;
    }
}

/* Inside test in object coordinates (u, v) ∈ about [−1, 1]². */
static gboolean
inside (int shape, double u, double v, double aspect, gboolean grid[6][6])
{
  switch (shape)
    {
    case 0: /* square */
      return fabs (u) <= 0.8 && fabs (v) <= 0.8;
    case 1: /* rectangle */
      return fabs (u) <= 1.0 && fabs (v) <= aspect;
    case 2: /* ellipse */
      return u * u + (v * v) / (aspect * aspect) <= 1.0;
    case 3: /* disc */
      return u * u + v * v <= 0.85;
    case 4: /* triangle, point up */
      return v <= 0.8 && fabs (u) <= (v + 0.9) / 1.7;
    case 5:
      {
        /* heart, as Multi-dSprites' */
        double x = u * 1.2, y = -v * 1.2 + 0.12, a = x * x + y * y - 1.0;
        return a * a * a - x * x * y * y * y <= 0.0;
      }
    default:
      {
        /* polyomino on a 6×6 grid over [−1, 1]² */
        int gx = (int) floor ((u + 1.0) * 3.0), gy = (int) floor ((v + 1.0) * 3.0);
        return gx >= 0 && gx < 6 && gy >= 0 && gy < 6 && grid[gy][gx];
      }
    }
}

static gboolean
try_scene (IodineRng *rng, float *image, uint8_t *labels)
{
  background (rng, image);
  memset (labels, 0, N * N);
  int n = 1 + (int) iodine_rng_below (rng, IODINE_SCENES_MAX);
  for (int s = 1; s <= n; s++)
    {
      int shape = (int) iodine_rng_below (rng, 7);
      gboolean grid[6][6];
      polyomino (rng, grid);
      /* object radius 3–20 px, biased to the small side */
      double rad = 3.0 + 17.0 * pow (iodine_rng_uniform (rng), 1.5);
      double aspect = 0.4 + 0.6 * iodine_rng_uniform (rng);
      double angle = 2 * G_PI * iodine_rng_uniform (rng);
      double cx = N * (0.1 + 0.8 * iodine_rng_uniform (rng));
      double cy = N * (0.1 + 0.8 * iodine_rng_uniform (rng));
      float c0[3], c1[3];
      random_colour (rng, c0);
      int surface = (int) iodine_rng_below (rng, 3);
      /* the second colour: darker (shading) or a neighbouring hue (stripes) */
      for (int c = 0; c < 3; c++)
        c1[c] = surface == 1 ? c0[c] * 0.45f : CLAMP (c0[c] * 0.7f + 0.3f * (1.0f - c0[c]), 0, 1);
      double light = 2 * G_PI * iodine_rng_uniform (rng), stripe = 2.0 + 3.0 * iodine_rng_uniform (rng);
      const double lc = cos (light), ls = sin (light);
      double ca = cos (angle), sa = sin (angle);
      int x0 = MAX (0, (int) floor (cx - 1.5 * rad)), x1 = MIN (N - 1, (int) ceil (cx + 1.5 * rad));
      int y0 = MAX (0, (int) floor (cy - 1.5 * rad)), y1 = MIN (N - 1, (int) ceil (cy + 1.5 * rad));
      for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
          {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double u = (ca * dx + sa * dy) / rad, v = (-sa * dx + ca * dy) / rad;
            if (!inside (shape, u, v, aspect, grid))
              continue;
            double t = 0.0;
            if (surface == 1)
              t = CLAMP (0.5 + 0.5 * (u * lc + v * ls), 0.0, 1.0);
            else if (surface == 2)
              t = fmod (floor ((u + 2.0) * stripe), 2.0);
            float *px = image + ((size_t) y * N + x) * 3;
            for (int c = 0; c < 3; c++)
              px[c] = (float) (c0[c] + (c1[c] - c0[c]) * t);
            labels[y * N + x] = (uint8_t) s;
          }
    }
  if (iodine_rng_below (rng, 2))
    {
      double sigma = 0.04 * iodine_rng_uniform (rng);
      for (int i = 0; i < N * N * 3; i++)
        {
          /* one draw (CLAMP evaluates its argument more than once) */
          double v = image[i] + sigma * iodine_rng_normal (rng);
          image[i] = (float) CLAMP (v, 0.0, 1.0);
        }
    }
  return iodine_labels_all_visible (labels, N * N, n, MIN_VISIBLE);
}

void
iodine_scenes_render (IodineRng *rng, float *image, uint8_t *labels)
{
  uint8_t scratch[N * N];
  uint8_t *l = labels ? labels : scratch;
  /* the same stream continues, so the result is still a function of it */
  while (!try_scene (rng, image, l))
    ;
}
