import { QuantError } from './errors.js';

/** Row-major (C order) strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function shapeNumel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: readonly number[], what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `${what}: invalid shape [${shape.join(', ')}]; dimensions must be non-negative integers.`,
      );
    }
  }
}

/**
 * A float32 tensor: a `Float32Array` storage viewed through a shape, strides and an offset, as in
 * PyTorch. Views (`permute`, `view`) share storage; `contiguous()` and `clone()` copy.
 *
 * @example
 * const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * x.permute([1, 0]).contiguous().toArray(); // [1, 4, 2, 5, 3, 6]
 * @see https://pytorch.org/docs/stable/tensors.html
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;

  constructor(data: Float32Array, shape: readonly number[], strides?: readonly number[], offset = 0) {
    checkShape(shape, 'Tensor');
    const st = strides ?? contiguousStrides(shape);
    if (strides === undefined && offset === 0 && data.length !== shapeNumel(shape)) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `Tensor: ${data.length} values do not fill shape [${shape.join(', ')}] (${shapeNumel(shape)} elements); pass data of that length.`,
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...st]);
    this.offset = offset;
  }

  /** Builds a tensor from nested or flat numbers; a flat array needs `shape`. */
  static fromArray(values: ArrayLike<number>, shape?: readonly number[]): Tensor {
    const data = Float32Array.from(values as ArrayLike<number>);
    return new Tensor(data, shape ?? [data.length]);
  }

  /** Total number of elements. */
  get numel(): number {
    return shapeNumel(this.shape);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** `size(dim)` as in PyTorch; negative dims count from the end. */
  size(dim: number): number {
    return this.shape[this.normDim(dim)]!;
  }

  /** Normalizes a possibly negative dim, throwing `AXIS_OUT_OF_RANGE` when outside the tensor. */
  normDim(dim: number, ndim = this.ndim): number {
    const d = dim < 0 ? dim + ndim : dim;
    if (!Number.isInteger(d) || d < 0 || d >= ndim) {
      throw new QuantError(
        'AXIS_OUT_OF_RANGE',
        `dim ${dim} is out of range for a ${ndim}-d tensor; use a dim in [${-ndim}, ${ndim - 1}].`,
      );
    }
    return d;
  }

  /** True when elements are laid out in C order with no gaps starting at offset 0. */
  isContiguous(): boolean {
    if (this.offset !== 0 || this.data.length !== this.numel) return false;
    const c = contiguousStrides(this.shape);
    return this.shape.every((d, i) => d <= 1 || c[i] === this.strides[i]);
  }

  /** This tensor if contiguous, else a C-order copy. */
  contiguous(): Tensor {
    return this.isContiguous() ? this : this.clone();
  }

  /** A C-order copy with its own storage. */
  clone(): Tensor {
    return new Tensor(this.toFloat32Array(), this.shape);
  }

  /** The elements in C order as a new Float32Array. */
  toFloat32Array(): Float32Array {
    const n = this.numel;
    if (this.isContiguous()) return this.data.slice(0, n);
    const out = new Float32Array(n);
    const nd = this.ndim;
    const idx = new Array<number>(nd).fill(0);
    for (let i = 0; i < n; i++) {
      let p = this.offset;
      for (let d = 0; d < nd; d++) p += idx[d]! * this.strides[d]!;
      out[i] = this.data[p]!;
      for (let d = nd - 1; d >= 0; d--) {
        if (++idx[d]! < this.shape[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  /** The elements in C order as plain numbers (for tests and printing). */
  toArray(): number[] {
    return Array.from(this.toFloat32Array());
  }

  /** Resolves `-1` in a target shape and checks the element count. */
  private inferShape(shape: readonly number[]): number[] {
    const out = [...shape];
    const neg = out.indexOf(-1);
    if (neg >= 0) {
      const rest = shapeNumel(out.filter((_, i) => i !== neg));
      out[neg] = rest === 0 ? 0 : this.numel / rest;
    }
    if (!out.every((d) => Number.isInteger(d) && d >= 0) || shapeNumel(out) !== this.numel) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `shape [${shape.join(', ')}] is invalid for a tensor of ${this.numel} elements (shape [${this.shape.join(', ')}]).`,
      );
    }
    return out;
  }

  /** A view with a new shape; the tensor must be contiguous (as PyTorch's `view`). */
  view(shape: readonly number[]): Tensor {
    if (!this.isContiguous()) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        'view: tensor is not contiguous; call .contiguous() first or use reshape().',
      );
    }
    return new Tensor(this.data, this.inferShape(shape));
  }

  /** Like `view`, copying first when the tensor is not contiguous. */
  reshape(shape: readonly number[]): Tensor {
    return this.contiguous().view(shape);
  }

  /** Flattens dims `startDim..endDim` into one (PyTorch defaults: all). */
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const s = this.normDim(startDim);
    const e = this.normDim(endDim);
    const shape = [...this.shape.slice(0, s), shapeNumel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }

  /** A view with dims reordered. */
  permute(dims: readonly number[]): Tensor {
    const d = dims.map((x) => this.normDim(x));
    if (d.length !== this.ndim || new Set(d).size !== d.length) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `permute: dims [${dims.join(', ')}] are not a permutation of 0..${this.ndim - 1}.`,
      );
    }
    return new Tensor(
      this.data,
      d.map((i) => this.shape[i]!),
      d.map((i) => this.strides[i]!),
      this.offset,
    );
  }

  private flatIndex(idx: readonly number[]): number {
    if (idx.length !== this.ndim) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `index [${idx.join(', ')}] has ${idx.length} dims; the tensor has ${this.ndim}.`,
      );
    }
    let p = this.offset;
    for (let d = 0; d < idx.length; d++) {
      const i = idx[d]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[d]!) {
        throw new QuantError('OUT_OF_RANGE', `index ${i} is out of range for dim ${d} of size ${this.shape[d]}.`);
      }
      p += i * this.strides[d]!;
    }
    return p;
  }

  /** Element at a full index. */
  get(...idx: number[]): number {
    return this.data[this.flatIndex(idx)]!;
  }

  /** Writes one element (in place, through views). */
  set(value: number, ...idx: number[]): void {
    this.data[this.flatIndex(idx)] = value;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `item: tensor has ${this.numel} elements; only one-element tensors convert to a number.`,
      );
    }
    return this.toFloat32Array()[0]!;
  }

  toString(): string {
    const vals = this.toArray();
    const shown = vals.length > 16 ? `${vals.slice(0, 16).join(', ')}, …` : vals.join(', ');
    return `tensor([${shown}], shape=[${this.shape.join(', ')}])`;
  }
}
