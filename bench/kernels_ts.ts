/**
 * TypeScript twins of the built-in WASM kernels (asm/kernels.ts): the same
 * algorithms, operation for operation, so results are bit-identical. Used by
 * the tests as references and by the benchmarks as the TypeScript baseline.
 *
 * @module
 */

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n < 4) return true;
  if (n % 2 === 0 || n % 3 === 0) return false;
  const limit = Math.floor(Math.sqrt(n));
  for (let d = 5; d <= limit; d += 6) {
    if (n % d === 0 || n % (d + 2) === 0) return false;
  }
  return true;
}

/** Number of primes in [lo, hi). */
export function countPrimes(lo: number, hi: number): number {
  let count = 0;
  for (let n = lo; n < hi; n++) if (isPrime(n)) count++;
  return count;
}

/** Escape counts of rows [rowStart, rowEnd), row-major (see src/kernels.ts). */
export function mandelbrot(
  width: number,
  height: number,
  maxIter: number,
  rowStart: number,
  rowEnd: number,
): Uint16Array {
  const out = new Uint16Array(width * (rowEnd - rowStart));
  let index = 0;
  for (let y = rowStart; y < rowEnd; y++) {
    const ci = -1.25 + (2.5 * (y + 0.5)) / height;
    for (let x = 0; x < width; x++) {
      const cr = -2.5 + (3.5 * (x + 0.5)) / width;
      let zr = 0;
      let zi = 0;
      let n = 0;
      while (n < maxIter) {
        const zr2 = zr * zr;
        const zi2 = zi * zi;
        if (zr2 + zi2 > 4) break;
        zi = 2 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      out[index++] = n;
    }
  }
  return out;
}

/** Sum in the lane order of the f64x2 kernel: four partial sums, then the tail. */
export function sum(a: Float64Array): number {
  const n = a.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  let r = (s0 + s2) + (s1 + s3);
  for (; i < n; i++) r += a[i];
  return r;
}

/** Sum with one accumulator. */
export function sumScalar(a: Float64Array): number {
  let r = 0;
  for (let i = 0; i < a.length; i++) r += a[i];
  return r;
}

/** Dot product in the lane order of the f64x2 kernel. */
export function dot(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new RangeError("Arrays a and b must have equal lengths");
  const n = a.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  let r = (s0 + s2) + (s1 + s3);
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}

/** Dot product with one accumulator. */
export function dotScalar(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new RangeError("Arrays a and b must have equal lengths");
  let r = 0;
  for (let i = 0; i < a.length; i++) r += a[i] * b[i];
  return r;
}

/** 32-bit FNV-1a, unsigned. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h >>> 0;
}

const PI = 3.141592653589793;
const SOLAR_MASS = 4 * PI * PI;
const DAYS_PER_YEAR = 365.24;
// x, y, z, vx, vy, vz (per day), mass (in solar masses) of Jupiter, Saturn, Uranus, Neptune.
const PLANETS = [
  [
    4.84143144246472090e+00,
    -1.16032004402742839e+00,
    -1.03622044471123109e-01,
    1.66007664274403694e-03,
    7.69901118419740425e-03,
    -6.90460016972063023e-05,
    9.54791938424326609e-04,
  ],
  [
    8.34336671824457987e+00,
    4.12479856412430479e+00,
    -4.03523417114321381e-01,
    -2.76742510726862411e-03,
    4.99852801234917238e-03,
    2.30417297573763929e-05,
    2.85885980666130812e-04,
  ],
  [
    1.28943695621391310e+01,
    -1.51111514016986312e+01,
    -2.23307578892655734e-01,
    2.96460137564761618e-03,
    2.37847173959480950e-03,
    -2.96589568540237556e-05,
    4.36624404335156298e-05,
  ],
  [
    1.53796971148509165e+01,
    -2.59193146099879641e+01,
    1.79258772950371181e-01,
    2.68067772490389322e-03,
    1.62824170038242295e-03,
    -9.51592254519715870e-05,
    5.15138902046611451e-05,
  ],
];

/** Energy of the n-body system after `steps` steps of dt = 0.01. */
export function nbody(steps: number): number {
  const B = 5;
  // Seven fields per body: x, y, z, vx, vy, vz, mass.
  const s = new Float64Array(B * 7);
  s[6] = SOLAR_MASS;
  PLANETS.forEach((p, k) => {
    const o = (k + 1) * 7;
    s.set([p[0], p[1], p[2]], o);
    s[o + 3] = p[3] * DAYS_PER_YEAR;
    s[o + 4] = p[4] * DAYS_PER_YEAR;
    s[o + 5] = p[5] * DAYS_PER_YEAR;
    s[o + 6] = p[6] * SOLAR_MASS;
  });
  let px = 0, py = 0, pz = 0;
  for (let i = 0; i < B; i++) {
    const m = s[i * 7 + 6];
    px += s[i * 7 + 3] * m;
    py += s[i * 7 + 4] * m;
    pz += s[i * 7 + 5] * m;
  }
  s[3] = -px / SOLAR_MASS;
  s[4] = -py / SOLAR_MASS;
  s[5] = -pz / SOLAR_MASS;
  const dt = 0.01;
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < B; i++) {
      const o = i * 7;
      const ix = s[o], iy = s[o + 1], iz = s[o + 2], im = s[o + 6];
      let ivx = s[o + 3], ivy = s[o + 4], ivz = s[o + 5];
      for (let j = i + 1; j < B; j++) {
        const q = j * 7;
        const dx = ix - s[q], dy = iy - s[q + 1], dz = iz - s[q + 2];
        const d2 = dx * dx + dy * dy + dz * dz;
        const mag = dt / (d2 * Math.sqrt(d2));
        const jm = s[q + 6];
        ivx -= dx * jm * mag;
        ivy -= dy * jm * mag;
        ivz -= dz * jm * mag;
        s[q + 3] += dx * im * mag;
        s[q + 4] += dy * im * mag;
        s[q + 5] += dz * im * mag;
      }
      s[o + 3] = ivx;
      s[o + 4] = ivy;
      s[o + 5] = ivz;
    }
    for (let i = 0; i < B; i++) {
      const o = i * 7;
      s[o] += dt * s[o + 3];
      s[o + 1] += dt * s[o + 4];
      s[o + 2] += dt * s[o + 5];
    }
  }
  let e = 0;
  for (let i = 0; i < B; i++) {
    const o = i * 7;
    const vx = s[o + 3], vy = s[o + 4], vz = s[o + 5], im = s[o + 6];
    e += 0.5 * im * (vx * vx + vy * vy + vz * vz);
    for (let j = i + 1; j < B; j++) {
      const q = j * 7;
      const dx = s[o] - s[q], dy = s[o + 1] - s[q + 1], dz = s[o + 2] - s[q + 2];
      e -= (im * s[q + 6]) / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}
