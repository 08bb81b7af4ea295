// Float32 emulations of the PyTorch 1.13 CPU kernels the observers use. Internal: not
// exported from the package. The histogram ones mirror spec pytorch-semantics §2.6 and the numpy ports in
// spec/pytorch-experiments/histobs113.py and torchsum.py, which matched PyTorch bit for bit.

const f32 = Math.fround;

/**
 * `torch.histc(x, bins, min=lo, max=hi)` on CPU float32 (LINEAR_INTERPOLATION bin selection):
 * `lo == hi` falls back to the data's min/max, then to `lo − 1, hi + 1`; values outside `[f32(lo), f32(hi)]`
 * are ignored; `pos = trunc(f32(f32(f32(x − L)·bins) / f32(R − L)))`, `bins` folded into the last bin.
 * Counts are float32. `x` must be finite.
 */
export function histc(x: Float32Array, bins: number, lo: number, hi: number): Float32Array {
  const h = new Float32Array(bins);
  if (lo === hi && x.length > 0) {
    let mn = x[0]!;
    let mx = mn;
    for (const v of x) {
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    lo = mn;
    hi = mx;
  }
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const L = f32(lo);
  const R = f32(hi);
  const fb = f32(bins);
  const width = f32(R - L);
  for (const v of x) {
    if (!(v >= L && v <= R)) continue;
    let pos = Math.trunc(f32(f32(f32(v - L) * fb) / width));
    if (pos === bins) pos = bins - 1;
    h[pos]! += 1;
  }
  return h;
}

function ceilLog2(x: number): number {
  if (x <= 1) return 0;
  return 32 - Math.clz32(x - 1);
}

// ATen SumKernel.cpp multi_row_sum: `size` rows of width `w` starting at `off`, accumulated in four
// levels so that rounding error grows as log(n); returns the row of partial sums.
function multiRowSum(a: Float32Array, off: number, size: number, w: number): Float32Array {
  const levels = 4;
  const levelPower = Math.max(4, Math.floor(ceilLog2(size) / levels));
  const levelStep = 1 << levelPower;
  const levelMask = levelStep - 1;
  const acc = new Float32Array(levels * w);
  let i = 0;
  const addRow = (row: number) => {
    const base = off + row * w;
    for (let k = 0; k < w; k++) acc[k] = f32(acc[k]! + a[base + k]!);
  };
  while (i + levelStep <= size) {
    for (let j = 0; j < levelStep; j++) addRow(i++);
    for (let j = 1; j < levels; j++) {
      for (let k = 0; k < w; k++) {
        acc[j * w + k] = f32(acc[j * w + k]! + acc[(j - 1) * w + k]!);
        acc[(j - 1) * w + k] = 0;
      }
      const mask = levelMask << (j * levelPower);
      if ((i & mask) !== 0) break;
    }
  }
  while (i < size) addRow(i++);
  for (let j = 1; j < levels; j++) for (let k = 0; k < w; k++) acc[k] = f32(acc[k]! + acc[j * w + k]!);
  return acc.subarray(0, w);
}

// ATen row_sum with ILP factor 4 over `size` rows of `lanes` elements.
function rowSum(a: Float32Array, size: number, lanes: number): Float32Array {
  const ilp = 4;
  const sizeIlp = Math.floor(size / ilp);
  const partial = sizeIlp > 0 ? multiRowSum(a, 0, sizeIlp, ilp * lanes).slice() : new Float32Array(ilp * lanes);
  for (let i = sizeIlp * ilp; i < size; i++) {
    for (let k = 0; k < lanes; k++) partial[k] = f32(partial[k]! + a[i * lanes + k]!);
  }
  for (let p = 1; p < ilp; p++) for (let k = 0; k < lanes; k++) partial[k] = f32(partial[k]! + partial[p * lanes + k]!);
  return partial.subarray(0, lanes);
}

/**
 * `torch.sum` of a contiguous float32 vector on one CPU thread (ATen cascade sum), for a SIMD width
 * of `lanes` floats: 8 on AVX2 (what PyTorch 1.13 used on the machine the goldens came from), 16 on
 * AVX-512. The order decides the last bits of the HistogramObserver's error norms.
 */
export function torchSum(a: Float32Array, lanes = 8): number {
  const n = a.length;
  if (n < lanes) return rowSum(a, n, 1)[0] ?? 0;
  const vecSize = Math.floor(n / lanes);
  const vecAcc = rowSum(a, vecSize, lanes);
  let final = 0;
  for (let k = vecSize * lanes; k < n; k++) final = f32(final + a[k]!);
  for (let k = 0; k < lanes; k++) final = f32(final + vecAcc[k]!);
  return final;
}

/** `torch.cumsum` of float32 on CPU: accumulates in double, stores each prefix as float32. */
export function cumsumF32(a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  let acc = 0;
  for (let i = 0; i < a.length; i++) {
    acc += a[i]!;
    out[i] = acc;
  }
  return out;
}

/** `c10::div_floor_floating(a, b)` in float32 (`torch.div(..., rounding_mode='floor')`); not `floor(a/b)`. */
export function divFloorFloating(a: number, b: number): number {
  const mod = a % b; // fmod: exact, and representable in float32 for float32 inputs
  let div = f32(f32(a - mod) / b);
  if (mod !== 0 && b < 0 !== mod < 0) div = f32(div - 1);
  if (div === 0) return Math.sign(a / b) < 0 || Object.is(a / b, -0) ? -0 : 0;
  let fl = Math.floor(div);
  if (f32(div - fl) > 0.5) fl = f32(fl + 1);
  return fl;
}

/**
 * `torch.linspace(start, end, steps)` in float32, scalar formula (the first half counts up from
 * `start`, the second down from `end`). PyTorch's vectorized path rounds some elements differently;
 * only the latest HistogramObserver uses this, and no PyTorch that runs here has that algorithm.
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)));
  return out;
}

/**
 * One step of the moving-average observers (spec §2.4), per tensor or per channel:
 * `f32(prev + f32(c · f32(cur − prev)))` with `c = f32(averagingConstant)`, because in
 * Tensor–Python-scalar arithmetic PyTorch casts the scalar to float32 first (spec §2 preamble).
 */
export function movingAverageStep(prev: number, cur: number, averagingConstant: number): number {
  const c = f32(averagingConstant);
  return f32(prev + f32(c * f32(cur - prev)));
}
