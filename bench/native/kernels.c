/*
 * C twins of the built-in WASM kernels (asm/kernels.ts): the same algorithms,
 * for the native baseline of bench/kernels_compare.ts. Built with
 *   gcc -O3 -ffp-contract=off [-march=native] -o kernels kernels.c -lm
 * (no FMA contraction, so results match the WASM and TypeScript versions).
 *
 * Usage: kernels <kernel> <rounds> <calls> <args...>
 * Prints "<best ns per call> <result>" where result is the value (or a
 * checksum of the output) of the last call.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))
#define CLOBBER() __asm__ volatile("" : : : "memory")

static inline int is_prime(uint32_t n) {
  if (n < 2) return 0;
  if (n < 4) return 1;
  if (n % 2 == 0 || n % 3 == 0) return 0;
  uint32_t limit = (uint32_t)sqrt((double)n);
  for (uint32_t d = 5; d <= limit; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return 0;
  }
  return 1;
}

NOINLINE static int32_t count_primes(double lo, double hi) {
  int32_t count = 0;
  uint64_t end = (uint64_t)hi;
  for (uint64_t n = (uint64_t)lo; n < end; n++) count += is_prime((uint32_t)n);
  return count;
}

NOINLINE static void mandelbrot(int32_t width, int32_t height, int32_t max_iter, int32_t row_start,
                                int32_t row_end, uint16_t *out) {
  size_t index = 0;
  for (int32_t y = row_start; y < row_end; y++) {
    double ci = -1.25 + (2.5 * ((double)y + 0.5)) / (double)height;
    for (int32_t x = 0; x < width; x++) {
      double cr = -2.5 + (3.5 * ((double)x + 0.5)) / (double)width;
      double zr = 0.0, zi = 0.0;
      int32_t n = 0;
      while (n < max_iter) {
        double zr2 = zr * zr, zi2 = zi * zi;
        if (zr2 + zi2 > 4.0) break;
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      out[index++] = (uint16_t)n;
    }
  }
}

typedef double v2d __attribute__((vector_size(16)));

static inline v2d load2(const double *p) {
  v2d v;
  memcpy(&v, p, sizeof v);
  return v;
}

NOINLINE static double sum_simd(const double *a, size_t n) {
  v2d s0 = {0, 0}, s1 = {0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += load2(a + i);
    s1 += load2(a + i + 2);
  }
  v2d s = s0 + s1;
  double r = s[0] + s[1];
  for (; i < n; i++) r += a[i];
  return r;
}

NOINLINE static double sum_scalar(const double *a, size_t n) {
  double r = 0.0;
  for (size_t i = 0; i < n; i++) r += a[i];
  return r;
}

NOINLINE static double dot_simd(const double *a, const double *b, size_t n) {
  v2d s0 = {0, 0}, s1 = {0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += load2(a + i) * load2(b + i);
    s1 += load2(a + i + 2) * load2(b + i + 2);
  }
  v2d s = s0 + s1;
  double r = s[0] + s[1];
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}

NOINLINE static double dot_scalar(const double *a, const double *b, size_t n) {
  double r = 0.0;
  for (size_t i = 0; i < n; i++) r += a[i] * b[i];
  return r;
}

NOINLINE static uint32_t fnv1a32(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

#define BODIES 5
#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

typedef struct { double x, y, z, vx, vy, vz, mass; } body;

static const double planets[4][7] = {
  {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
   1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
   9.54791938424326609e-04},
  {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
   -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
   2.85885980666130812e-04},
  {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
   2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
   4.36624404335156298e-05},
  {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
   2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
   5.15138902046611451e-05},
};

NOINLINE static double nbody(int32_t steps) {
  body b[BODIES];
  b[0] = (body){0, 0, 0, 0, 0, 0, SOLAR_MASS};
  for (int k = 0; k < 4; k++) {
    const double *p = planets[k];
    b[k + 1] = (body){p[0], p[1], p[2], p[3] * DAYS_PER_YEAR, p[4] * DAYS_PER_YEAR,
                      p[5] * DAYS_PER_YEAR, p[6] * SOLAR_MASS};
  }
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < BODIES; i++) {
    px += b[i].vx * b[i].mass;
    py += b[i].vy * b[i].mass;
    pz += b[i].vz * b[i].mass;
  }
  b[0].vx = -px / SOLAR_MASS;
  b[0].vy = -py / SOLAR_MASS;
  b[0].vz = -pz / SOLAR_MASS;
  const double dt = 0.01;
  for (int32_t s = 0; s < steps; s++) {
    for (int i = 0; i < BODIES; i++) {
      double ix = b[i].x, iy = b[i].y, iz = b[i].z, im = b[i].mass;
      double ivx = b[i].vx, ivy = b[i].vy, ivz = b[i].vz;
      for (int j = i + 1; j < BODIES; j++) {
        double dx = ix - b[j].x, dy = iy - b[j].y, dz = iz - b[j].z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * sqrt(d2));
        double jm = b[j].mass;
        ivx -= dx * jm * mag;
        ivy -= dy * jm * mag;
        ivz -= dz * jm * mag;
        b[j].vx += dx * im * mag;
        b[j].vy += dy * im * mag;
        b[j].vz += dz * im * mag;
      }
      b[i].vx = ivx;
      b[i].vy = ivy;
      b[i].vz = ivz;
    }
    for (int i = 0; i < BODIES; i++) {
      b[i].x += dt * b[i].vx;
      b[i].y += dt * b[i].vy;
      b[i].z += dt * b[i].vz;
    }
  }
  double e = 0.0;
  for (int i = 0; i < BODIES; i++) {
    e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < BODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= (b[i].mass * b[j].mass) / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Deterministic inputs shared with bench/kernels_workloads.ts. */
static void fill_f64(double *a, size_t n, double salt) {
  for (size_t i = 0; i < n; i++) a[i] = (double)((i * 7919 + (size_t)salt) % 1000) / 1000.0 - 0.5;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: kernels <kernel> <rounds> <calls> <args...>\n");
    return 2;
  }
  const char *k = argv[1];
  int rounds = atoi(argv[2]), calls = atoi(argv[3]);
  double arg[5] = {0};
  for (int i = 0; i < 5 && i + 4 < argc; i++) arg[i] = atof(argv[i + 4]);
  size_t n = (size_t)arg[0];
  double *a = NULL, *b = NULL;
  uint8_t *bytes = NULL;
  uint16_t *img = NULL;
  if (!strcmp(k, "sum") || !strcmp(k, "sumScalar") || !strcmp(k, "dot") || !strcmp(k, "dotScalar")) {
    a = malloc(n * sizeof *a);
    b = malloc(n * sizeof *b);
    fill_f64(a, n, 1);
    fill_f64(b, n, 2);
  } else if (!strcmp(k, "fnv1a32")) {
    bytes = malloc(n);
    for (size_t i = 0; i < n; i++) bytes[i] = (uint8_t)((i * 31 + 7) & 255);
  } else if (!strcmp(k, "mandelbrot")) {
    img = malloc((size_t)arg[0] * (size_t)(arg[4] - arg[3]) * sizeof *img);
  }
  double best = 1e300, result = 0;
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    for (int c = 0; c < calls; c++) {
      CLOBBER();
      if (!strcmp(k, "countPrimes")) result = count_primes(arg[0], arg[1]);
      else if (!strcmp(k, "mandelbrot")) {
        mandelbrot((int32_t)arg[0], (int32_t)arg[1], (int32_t)arg[2], (int32_t)arg[3], (int32_t)arg[4], img);
        uint64_t s = 0;
        size_t len = (size_t)arg[0] * (size_t)(arg[4] - arg[3]);
        for (size_t i = 0; i < len; i++) s += img[i];
        result = (double)s;
      } else if (!strcmp(k, "sum")) result = sum_simd(a, n);
      else if (!strcmp(k, "sumScalar")) result = sum_scalar(a, n);
      else if (!strcmp(k, "dot")) result = dot_simd(a, b, n);
      else if (!strcmp(k, "dotScalar")) result = dot_scalar(a, b, n);
      else if (!strcmp(k, "fnv1a32")) result = fnv1a32(bytes, n);
      else if (!strcmp(k, "nbody")) result = nbody((int32_t)arg[0]);
      else {
        fprintf(stderr, "unknown kernel %s\n", k);
        return 2;
      }
      CLOBBER();
    }
    double t = (now_ns() - t0) / calls;
    if (t < best) best = t;
  }
  printf("%.0f %.17g\n", best, result);
  free(a);
  free(b);
  free(bytes);
  free(img);
  return 0;
}
