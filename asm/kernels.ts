// Built-in multipool kernels (AssemblyScript). Built by scripts/build_asm.ts
// into asm/build/kernels.wasm with the options of asm/kernels.asconfig.json.
//
// ABI: numbers cross as wasm numbers; an array parameter or result is a
// StaticArray<T>, i.e. one i32 pointer to its first element, with its byte
// length stored by the runtime as a u32 just before it (at pointer - 4).
// Invalid arguments trap (`unreachable`), which surfaces in JavaScript as a
// WebAssembly.RuntimeError. The TypeScript twins in bench/kernels_ts.ts and
// the C twins in bench/native/kernels.c follow these algorithms step by step.

// ---------------------------------------------------------------- primes ---

// @ts-ignore: decorator

function isPrime(n: u32): bool {
  if (n < 2) return false;
  if (n < 4) return true;
  if (n % 2 == 0 || n % 3 == 0) return false;
  const limit = <u32> Math.sqrt(<f64> n);
  for (let d: u32 = 5; d <= limit; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

/** Number of primes in [lo, hi), by trial division with a 6k±1 wheel; 0 <= lo, hi <= 2^32. */
export function countPrimes(lo: f64, hi: f64): i32 {
  if (!(lo >= 0 && hi <= 4294967296.0 && lo == Math.floor(lo) && hi == Math.floor(hi))) {
    unreachable();
  }
  let count = 0;
  const end = <u64> hi;
  for (let n = <u64> lo; n < end; n++) {
    if (isPrime(<u32> n)) count++;
  }
  return count;
}

// ------------------------------------------------------------ mandelbrot ---

/**
 * Escape counts of rows [rowStart, rowEnd) of a width x height image, row-major.
 * Pixel (x, y) is c = (-2.5 + 3.5 * (x + 0.5) / width, -1.25 + 2.5 * (y + 0.5) / height).
 * With z0 = 0 and z(k+1) = z(k)^2 + c, the count is the number of steps taken
 * before |z|^2 > 4, at most maxIter (0 <= maxIter <= 65535).
 */
export function mandelbrot(
  width: i32,
  height: i32,
  maxIter: i32,
  rowStart: i32,
  rowEnd: i32,
): StaticArray<u16> {
  if (
    width < 0 || height < 0 || maxIter < 0 || maxIter > 65535 || rowStart < 0 ||
    rowEnd < rowStart || rowEnd > height || <u64> width * <u64> (rowEnd - rowStart) > 0x20000000
  ) {
    unreachable();
  }
  const out = new StaticArray<u16>(width * (rowEnd - rowStart));
  const base = changetype<usize>(out);
  let index: usize = 0;
  for (let y = rowStart; y < rowEnd; y++) {
    const ci = -1.25 + (2.5 * (<f64> y + 0.5)) / <f64> height;
    for (let x = 0; x < width; x++) {
      const cr = -2.5 + (3.5 * (<f64> x + 0.5)) / <f64> width;
      let zr = 0.0;
      let zi = 0.0;
      let n = 0;
      while (n < maxIter) {
        const zr2 = zr * zr;
        const zi2 = zi * zi;
        if (zr2 + zi2 > 4.0) break;
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      store<u16>(base + (index << 1), <u16> n);
      index++;
    }
  }
  return out;
}

// ------------------------------------------------------------- sum / dot ---

/** Sum of a, f64x2 SIMD with two vector accumulators (lanes 0..3), then the scalar tail. */
export function sum(a: StaticArray<f64>): f64 {
  const p = changetype<usize>(a);
  const n = <usize> a.length;
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    s0 = f64x2.add(s0, v128.load(p + (i << 3)));
    s1 = f64x2.add(s1, v128.load(p + (i << 3), 16));
  }
  const s = f64x2.add(s0, s1);
  let r = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) r += load<f64>(p + (i << 3));
  return r;
}

/** Sum of a, one scalar accumulator (the baseline of `sum`). */
export function sumScalar(a: StaticArray<f64>): f64 {
  const p = changetype<usize>(a);
  const n = <usize> a.length;
  let r = 0.0;
  for (let i: usize = 0; i < n; i++) r += load<f64>(p + (i << 3));
  return r;
}

/** Dot product of a and b (equal lengths), SIMD in the same lane order as `sum`. */
export function dot(a: StaticArray<f64>, b: StaticArray<f64>): f64 {
  if (a.length != b.length) unreachable();
  const p = changetype<usize>(a);
  const q = changetype<usize>(b);
  const n = <usize> a.length;
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    const o = i << 3;
    s0 = f64x2.add(s0, f64x2.mul(v128.load(p + o), v128.load(q + o)));
    s1 = f64x2.add(s1, f64x2.mul(v128.load(p + o, 16), v128.load(q + o, 16)));
  }
  const s = f64x2.add(s0, s1);
  let r = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) r += load<f64>(p + (i << 3)) * load<f64>(q + (i << 3));
  return r;
}

/** Dot product of a and b, one scalar accumulator (the baseline of `dot`). */
export function dotScalar(a: StaticArray<f64>, b: StaticArray<f64>): f64 {
  if (a.length != b.length) unreachable();
  const p = changetype<usize>(a);
  const q = changetype<usize>(b);
  const n = <usize> a.length;
  let r = 0.0;
  for (let i: usize = 0; i < n; i++) r += load<f64>(p + (i << 3)) * load<f64>(q + (i << 3));
  return r;
}

// --------------------------------------------------------------- fnv1a32 ---

/** 32-bit FNV-1a hash of the bytes. */
export function fnv1a32(bytes: StaticArray<u8>): u32 {
  const p = changetype<usize>(bytes);
  const n = <usize> bytes.length;
  let h: u32 = 2166136261;
  for (let i: usize = 0; i < n; i++) {
    h = (h ^ <u32> load<u8>(p + i)) * 16777619;
  }
  return h;
}

// ----------------------------------------------------------------- n-body ---

// Five bodies (sun, Jupiter, Saturn, Uranus, Neptune), seven f64 each:
// x, y, z, vx, vy, vz, mass. Positions in AU, velocities in AU/day * 365.24.
const BODIES = 5;
const FIELDS = 7;
const PI = 3.141592653589793;
const SOLAR_MASS = 4 * PI * PI;
const DAYS_PER_YEAR = 365.24;
const state = memory.data(BODIES * FIELDS * 8, 16);

// @ts-ignore: decorator

function field(body: i32, index: i32): usize {
  return state + <usize> ((body * FIELDS + index) << 3);
}

function setBody(
  body: i32,
  x: f64,
  y: f64,
  z: f64,
  vx: f64,
  vy: f64,
  vz: f64,
  mass: f64,
): void {
  store<f64>(field(body, 0), x);
  store<f64>(field(body, 1), y);
  store<f64>(field(body, 2), z);
  store<f64>(field(body, 3), vx * DAYS_PER_YEAR);
  store<f64>(field(body, 4), vy * DAYS_PER_YEAR);
  store<f64>(field(body, 5), vz * DAYS_PER_YEAR);
  store<f64>(field(body, 6), mass * SOLAR_MASS);
}

function initBodies(): void {
  setBody(0, 0, 0, 0, 0, 0, 0, 1);
  setBody(
    1,
    4.84143144246472090e+00,
    -1.16032004402742839e+00,
    -1.03622044471123109e-01,
    1.66007664274403694e-03,
    7.69901118419740425e-03,
    -6.90460016972063023e-05,
    9.54791938424326609e-04,
  );
  setBody(
    2,
    8.34336671824457987e+00,
    4.12479856412430479e+00,
    -4.03523417114321381e-01,
    -2.76742510726862411e-03,
    4.99852801234917238e-03,
    2.30417297573763929e-05,
    2.85885980666130812e-04,
  );
  setBody(
    3,
    1.28943695621391310e+01,
    -1.51111514016986312e+01,
    -2.23307578892655734e-01,
    2.96460137564761618e-03,
    2.37847173959480950e-03,
    -2.96589568540237556e-05,
    4.36624404335156298e-05,
  );
  setBody(
    4,
    1.53796971148509165e+01,
    -2.59193146099879641e+01,
    1.79258772950371181e-01,
    2.68067772490389322e-03,
    1.62824170038242295e-03,
    -9.51592254519715870e-05,
    5.15138902046611451e-05,
  );
  // Offset the sun's momentum so that the system's total momentum is zero.
  let px = 0.0;
  let py = 0.0;
  let pz = 0.0;
  for (let i = 0; i < BODIES; i++) {
    const m = load<f64>(field(i, 6));
    px += load<f64>(field(i, 3)) * m;
    py += load<f64>(field(i, 4)) * m;
    pz += load<f64>(field(i, 5)) * m;
  }
  store<f64>(field(0, 3), -px / SOLAR_MASS);
  store<f64>(field(0, 4), -py / SOLAR_MASS);
  store<f64>(field(0, 5), -pz / SOLAR_MASS);
}

// One pair interaction (i < j). Inlined with constant i and j, so every
// field address is a constant: the same arithmetic, in the same order, as
// the nested loops of the C and TypeScript versions, without loop overhead.
// @ts-ignore: decorator
@inline
function interact(i: i32, j: i32, dt: f64): void {
  const dx = load<f64>(field(i, 0)) - load<f64>(field(j, 0));
  const dy = load<f64>(field(i, 1)) - load<f64>(field(j, 1));
  const dz = load<f64>(field(i, 2)) - load<f64>(field(j, 2));
  const d2 = dx * dx + dy * dy + dz * dz;
  const mag = dt / (d2 * Math.sqrt(d2));
  const im = load<f64>(field(i, 6));
  const jm = load<f64>(field(j, 6));
  store<f64>(field(i, 3), load<f64>(field(i, 3)) - dx * jm * mag);
  store<f64>(field(i, 4), load<f64>(field(i, 4)) - dy * jm * mag);
  store<f64>(field(i, 5), load<f64>(field(i, 5)) - dz * jm * mag);
  store<f64>(field(j, 3), load<f64>(field(j, 3)) + dx * im * mag);
  store<f64>(field(j, 4), load<f64>(field(j, 4)) + dy * im * mag);
  store<f64>(field(j, 5), load<f64>(field(j, 5)) + dz * im * mag);
}

// @ts-ignore: decorator
@inline
function move(i: i32, dt: f64): void {
  store<f64>(field(i, 0), load<f64>(field(i, 0)) + dt * load<f64>(field(i, 3)));
  store<f64>(field(i, 1), load<f64>(field(i, 1)) + dt * load<f64>(field(i, 4)));
  store<f64>(field(i, 2), load<f64>(field(i, 2)) + dt * load<f64>(field(i, 5)));
}

function advance(dt: f64): void {
  interact(0, 1, dt);
  interact(0, 2, dt);
  interact(0, 3, dt);
  interact(0, 4, dt);
  interact(1, 2, dt);
  interact(1, 3, dt);
  interact(1, 4, dt);
  interact(2, 3, dt);
  interact(2, 4, dt);
  interact(3, 4, dt);
  move(0, dt);
  move(1, dt);
  move(2, dt);
  move(3, dt);
  move(4, dt);
}

function energy(): f64 {
  let e = 0.0;
  for (let i = 0; i < BODIES; i++) {
    const ix = load<f64>(field(i, 0));
    const iy = load<f64>(field(i, 1));
    const iz = load<f64>(field(i, 2));
    const vx = load<f64>(field(i, 3));
    const vy = load<f64>(field(i, 4));
    const vz = load<f64>(field(i, 5));
    const im = load<f64>(field(i, 6));
    e += 0.5 * im * (vx * vx + vy * vy + vz * vz);
    for (let j = i + 1; j < BODIES; j++) {
      const dx = ix - load<f64>(field(j, 0));
      const dy = iy - load<f64>(field(j, 1));
      const dz = iz - load<f64>(field(j, 2));
      e -= (im * load<f64>(field(j, 6))) / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

/** Energy of the Benchmarks Game n-body system after `steps` steps of dt = 0.01. */
export function nbody(steps: i32): f64 {
  initBodies();
  for (let s = 0; s < steps; s++) advance(0.01);
  return energy();
}
