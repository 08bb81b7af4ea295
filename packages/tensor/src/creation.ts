import { shapeNumel, Tensor } from './tensor.js';

/**
 * A seeded pseudo-random generator (mulberry32 for uniforms, Box–Muller for normals), so examples
 * and tests are reproducible. It does not reproduce PyTorch's streams: goldens carry their inputs.
 *
 * @example
 * const g = new Generator(0); const x = randn([4, 1, 4, 4], g);
 */
export class Generator {
  private state: number;
  private spare: number | undefined;

  constructor(seed = 0) {
    this.state = seed >>> 0;
  }

  /** A uniform float in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal sample. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** A tensor of zeros. @example zeros([2, 3]) */
export function zeros(shape: readonly number[]): Tensor {
  return new Tensor(new Float32Array(shapeNumel(shape)), shape);
}

/** A tensor of ones. @example ones([2, 3]) */
export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

/** A tensor filled with one value (rounded to float32). @example full([2], 0.5) */
export function full(shape: readonly number[], value: number): Tensor {
  return new Tensor(new Float32Array(shapeNumel(shape)).fill(value), shape);
}

/** `[start, start+step, …)` below `end`, as `torch.arange`. @example arange(0, 6).toArray() // [0..5] */
export function arange(start: number, end?: number, step = 1): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return new Tensor(data, [n]);
}

/** A tensor from values in C order. @example tensor([1, 2, 3, 4], [2, 2]) */
export function tensor(values: ArrayLike<number>, shape?: readonly number[]): Tensor {
  return Tensor.fromArray(values, shape);
}

/** Uniform samples in [0, 1) from a seeded generator. @example rand([3], new Generator(1)) */
export function rand(shape: readonly number[], generator: Generator = new Generator(0)): Tensor {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = generator.uniform();
  return t;
}

/** Standard normal samples from a seeded generator. @example randn([4, 1, 4, 4], new Generator(0)) */
export function randn(shape: readonly number[], generator: Generator = new Generator(0)): Tensor {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = generator.normal();
  return t;
}
