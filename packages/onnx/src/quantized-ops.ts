// Quantized graph pieces that @quint/nn has no module for: the QOperator ops of ONNX / ONNX Runtime
// (QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool, QLinearGlobalAveragePool,
// QLinearSigmoid), the dynamic-quantization ops (DynamicQuantizeLinear, MatMulInteger, ConvInteger)
// and the shape ops on QTensors. They run on the backend and engine they were built with, as nnq
// modules do.
import { Module } from '@quint/nn';
import {
  makePerTensorQuantizedTensor,
  roundHalfToEven,
  type Engine,
  type OpName,
  type QTensor,
  type QuantizedBackend,
} from '@quint/qtensor';
import { QuantError, Tensor, adaptiveAvgPool2d, avgPool2d, cat, defineOp, sigmoid, add, mul } from '@quint/tensor';

const f32 = Math.fround;

/** What a {@link QuantizedOp} computes. */
export type QuantizedOpKind = 'add' | 'addRelu' | 'mul' | 'cat' | 'avgPool2d' | 'adaptiveAvgPool2d' | 'sigmoid';

/** Options of {@link QuantizedOp}. */
export interface QuantizedOpOptions {
  /** Output scale (float32). */
  readonly scale: number;
  /** Output zero point. */
  readonly zeroPoint: number;
  readonly backend: QuantizedBackend;
  readonly engine: Engine;
  /** `cat`: the axis. */
  readonly dim?: number;
  /** `avgPool2d`: the pooling geometry; `adaptiveAvgPool2d`: `outputSize`. */
  readonly kernelSize?: readonly [number, number];
  readonly stride?: readonly [number, number];
  readonly padding?: readonly [number, number];
  readonly ceilMode?: boolean;
  readonly countIncludePad?: boolean;
  readonly outputSize?: readonly [number, number];
}

function hide(m: object, key: string, value: unknown): void {
  Object.defineProperty(m, key, { value, writable: true, enumerable: false, configurable: true });
}

/** ORT's QuantizeLinear: `clamp(rne(f32(x / s)) + zp)` (spec onnx-ort-and-peers §1.3). */
function quantizeOrt(x: Tensor, scale: number, zeroPoint: number): QTensor {
  const src = x.toFloat32Array();
  const out = new Uint8Array(src.length);
  const s = f32(scale);
  for (let i = 0; i < src.length; i++)
    out[i] = Math.min(255, Math.max(0, roundHalfToEven(f32(src[i]! / s)) + zeroPoint));
  return makePerTensorQuantizedTensor({ data: out, shape: x.shape }, s, zeroPoint);
}

/**
 * A quantized op with its output qparams (PyTorch's `torch.ops.quantized.add(a, b, scale, zp)` and
 * friends, as a module): `add`, `addRelu`, `mul`, `cat`, `avgPool2d`, `adaptiveAvgPool2d`,
 * `sigmoid`. It runs the backend's kernel when `backend.supports(op, { engine })` (on engine `ort`,
 * ONNX Runtime's formulas, docs/numerics.md); otherwise — a backend without the kernel, or pools
 * whose output qparams differ from the input's — it computes the reference path
 * `QuantizeLinear(op(DequantizeLinear(x)))` in float32.
 *
 * @example
 * const qadd = new QuantizedOp('add', { scale: 0.05, zeroPoint: 128, backend, engine: 'ort' });
 * qadd.call(a, b);
 */
export class QuantizedOp extends Module {
  readonly op: QuantizedOpKind;
  scale: number;
  zeroPoint: number;
  declare readonly options: QuantizedOpOptions;
  declare backend: QuantizedBackend;
  override engine: Engine;

  constructor(op: QuantizedOpKind, options: QuantizedOpOptions) {
    super();
    this.op = op;
    this.scale = f32(options.scale);
    this.zeroPoint = options.zeroPoint;
    this.engine = options.engine;
    hide(this, 'backend', options.backend);
    hide(this, 'options', options);
  }

  /**
   * True when the backend computes this op for the engine (else the float reference path runs;
   * pools also take it when their output qparams differ from the input's).
   */
  get native(): boolean {
    const opName: OpName = this.op;
    return this.backend.supports(opName, { engine: this.engine, dtype: 'quint8' });
  }

  forward(...xs: unknown[]): QTensor {
    const qs = (this.op === 'cat' ? (xs[0] as QTensor[]) : (xs as QTensor[])).map((x, i) => {
      if (typeof x !== 'object' || x === null || !('qparams' in x)) {
        throw new QuantError(
          'DTYPE_MISMATCH',
          `QuantizedOp(${this.op}): operand ${i} is not a QTensor; quantize it first.`,
        );
      }
      return x;
    });
    const out = { scale: this.scale, zeroPoint: this.zeroPoint };
    const k = this.backend.kernels;
    const o = this.options;
    const opts = { engine: this.engine };
    // Pooling kernels keep the input qparams (PyTorch's API); QLinearAveragePool-style output qparams
    // that differ take the reference path, which quantizes straight into them (no double rounding).
    const pool = this.op === 'avgPool2d' || this.op === 'adaptiveAvgPool2d';
    const sameQparams = pool && qs[0]!.qScale() === this.scale && qs[0]!.qZeroPoint() === this.zeroPoint;
    if (this.native && (!pool || sameQparams)) {
      switch (this.op) {
        case 'add':
          return k.add(qs[0]!, qs[1]!, out, opts);
        case 'addRelu':
          return k.addRelu(qs[0]!, qs[1]!, out, opts);
        case 'mul':
          return k.mul(qs[0]!, qs[1]!, out, opts);
        case 'cat':
          return k.cat(qs, o.dim ?? 0, out, opts);
        case 'sigmoid':
          return k.sigmoid(qs[0]!, out, opts);
        case 'adaptiveAvgPool2d':
          return k.adaptiveAvgPool2d(qs[0]!, o.outputSize ?? [1, 1], opts);
        case 'avgPool2d':
          return k.avgPool2d(
            qs[0]!,
            {
              kernelSize: o.kernelSize ?? [1, 1],
              stride: o.stride ?? o.kernelSize ?? [1, 1],
              padding: o.padding ?? [0, 0],
              ceilMode: o.ceilMode ?? false,
              countIncludePad: o.countIncludePad ?? true,
            },
            opts,
          );
      }
    }
    const f = qs.map((q) => q.dequantize());
    let y: Tensor;
    switch (this.op) {
      case 'add':
        y = add(f[0]!, f[1]!);
        break;
      case 'addRelu':
        y = add(f[0]!, f[1]!).clone();
        y = new Tensor(
          y.toFloat32Array().map((v) => (v > 0 ? v : 0)),
          y.shape,
        );
        break;
      case 'mul':
        y = mul(f[0]!, f[1]!);
        break;
      case 'cat':
        y = cat(f, o.dim ?? 0);
        break;
      case 'sigmoid':
        y = sigmoid(f[0]!);
        break;
      case 'adaptiveAvgPool2d':
        y = adaptiveAvgPool2d(f[0]!, o.outputSize ?? [1, 1]);
        break;
      case 'avgPool2d':
        y = avgPool2d(f[0]!, {
          kernelSize: o.kernelSize ?? [1, 1],
          stride: o.stride ?? o.kernelSize ?? [1, 1],
          padding: o.padding ?? [0, 0],
          ceilMode: o.ceilMode ?? false,
          countIncludePad: o.countIncludePad ?? true,
        });
        break;
    }
    return quantizeOrt(y, this.scale, this.zeroPoint);
  }

  override getName(): string {
    return 'QuantizedOp';
  }

  override extraRepr(): string {
    return `op=${this.op}, scale=${this.scale}, zero_point=${this.zeroPoint}`;
  }
}

/**
 * ONNX `DynamicQuantizeLinear` (opset 11): per call, `scale = f32((max(0, max x) − min(0, min x)) / 255)`,
 * `zp = clamp(rne(−min/scale))`, `y = clamp(rne(f32(x / scale)) + zp)`, uint8 (the ONNX formula,
 * which ONNX Runtime matches exactly, spec onnx-ort-and-peers §1.3).
 *
 * @example
 * const q = new DynamicQuantizeLinear().call(x); // QTensor, quint8
 */
export class DynamicQuantizeLinear extends Module {
  forward(x: Tensor): QTensor {
    const d = x.toFloat32Array();
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (!Number.isFinite(v))
        throw new QuantError('NON_FINITE', `DynamicQuantizeLinear: input element ${i} is ${v}; pass finite values.`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const scale = f32(f32(hi - lo) / 255);
    // All zeros: ONNX gives scale 0, zp 0 and codes 0; a QTensor needs a positive scale, and every
    // consumer multiplies by (q − zp) = 0, so any positive scale gives the same results.
    if (scale === 0) return makePerTensorQuantizedTensor({ data: new Uint8Array(d.length), shape: x.shape }, 1, 0);
    const zp = Math.min(255, Math.max(0, roundHalfToEven(f32(0 - f32(lo / scale)))));
    const out = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Math.min(255, Math.max(0, roundHalfToEven(f32(d[i]! / scale)) + zp));
    return makePerTensorQuantizedTensor({ data: out, shape: x.shape }, scale, zp);
  }

  override getName(): string {
    return 'DynamicQuantizeLinear';
  }
}

/** Options of {@link MatMulInteger} and {@link ConvInteger}: the weight codes and zero points. */
export interface IntegerWeightOptions {
  /** Weight codes: `[K, N]` for MatMulInteger, `[M, C/group, kH, kW]` for ConvInteger. */
  readonly weight: Int8Array | Uint8Array;
  readonly weightShape: readonly number[];
  /** One zero point, or one per output column/channel. */
  readonly weightZeroPoint: ArrayLike<number>;
}

function wzp(o: IntegerWeightOptions, c: number): number {
  const z = o.weightZeroPoint;
  return z.length === 1 ? z[0]! : z[c]!;
}

function acc32(v: number, what: string): number {
  if (v > 2147483647 || v < -2147483648)
    throw new QuantError(
      'OVERFLOW',
      `${what}: the int32 accumulator reached ${v}; ONNX says it must not overflow. Use smaller inputs.`,
    );
  return v;
}

/**
 * ONNX `MatMulInteger` with a constant B: `Σ_k (a − a_zp)(b − b_zp)` in int32 (a_zp from the input
 * QTensor), returned as a float32 Tensor of those integers — what the `Cast(to=FLOAT)` that always
 * follows in `quantize_dynamic` graphs computes (f32 rounding of the int32).
 *
 * @throws `OVERFLOW` when an accumulator leaves int32.
 * @example
 * new MatMulInteger({ weight, weightShape: [K, N], weightZeroPoint: [0] }).call(qa);
 */
export class MatMulInteger extends Module {
  declare readonly options: IntegerWeightOptions;

  constructor(options: IntegerWeightOptions) {
    super();
    hide(this, 'options', options);
  }

  forward(a: QTensor): Tensor {
    const [K, N] = this.options.weightShape as [number, number];
    const kIn = a.shape[a.shape.length - 1]!;
    if (kIn !== K)
      throw new QuantError(
        'SHAPE_MISMATCH',
        `MatMulInteger: input has ${kIn} columns, B has ${K} rows; pass matching shapes.`,
      );
    const M = a.numel / K;
    const az = a.qZeroPoint();
    const w = this.options.weight;
    const out = new Float32Array(M * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        const bz = wzp(this.options, n);
        for (let k = 0; k < K; k++) s += (a.data[m * K + k]! - az) * (w[k * N + n]! - bz);
        out[m * N + n] = f32(acc32(s, 'MatMulInteger'));
      }
    }
    return new Tensor(out, [...a.shape.slice(0, -1), N]);
  }

  override getName(): string {
    return 'MatMulInteger';
  }
}

/** Options of {@link ConvInteger}. */
export interface ConvIntegerOptions extends IntegerWeightOptions {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/**
 * ONNX `ConvInteger` (NCHW, constant weight): int32 `Σ (x − x_zp)(w − w_zp)` as float32 values (the
 * `Cast(to=FLOAT)` that follows). Padding taps contribute 0 (padding with x_zp, as the spec says).
 *
 * @throws `OVERFLOW` when an accumulator leaves int32.
 * @example
 * new ConvInteger({ weight, weightShape: [8, 3, 3, 3], weightZeroPoint: [0], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 }).call(qx);
 */
export class ConvInteger extends Module {
  declare readonly options: ConvIntegerOptions;

  constructor(options: ConvIntegerOptions) {
    super();
    hide(this, 'options', options);
  }

  forward(x: QTensor): Tensor {
    const o = this.options;
    const [M, Cg, KH, KW] = o.weightShape as [number, number, number, number];
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (C !== Cg * o.groups)
      throw new QuantError(
        'SHAPE_MISMATCH',
        `ConvInteger: input has ${C} channels, the weight expects ${Cg * o.groups}; pass a matching input.`,
      );
    const OH = Math.floor((H + 2 * o.padding[0] - o.dilation[0] * (KH - 1) - 1) / o.stride[0]) + 1;
    const OW = Math.floor((W + 2 * o.padding[1] - o.dilation[1] * (KW - 1) - 1) / o.stride[1]) + 1;
    const xz = x.qZeroPoint();
    const out = new Float32Array(N * M * OH * OW);
    const Mg = M / o.groups;
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const g = Math.floor(m / Mg);
        const bz = wzp(o, m);
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            let s = 0;
            for (let c = 0; c < Cg; c++) {
              const ic = g * Cg + c;
              for (let kh = 0; kh < KH; kh++) {
                const ih = oh * o.stride[0] - o.padding[0] + kh * o.dilation[0];
                if (ih < 0 || ih >= H) continue;
                for (let kw = 0; kw < KW; kw++) {
                  const iw = ow * o.stride[1] - o.padding[1] + kw * o.dilation[1];
                  if (iw < 0 || iw >= W) continue;
                  s +=
                    (x.data[((n * C + ic) * H + ih) * W + iw]! - xz) *
                    (o.weight[((m * Cg + c) * KH + kh) * KW + kw]! - bz);
                }
              }
            }
            out[((n * M + m) * OH + oh) * OW + ow] = f32(acc32(s, 'ConvInteger'));
          }
        }
      }
    }
    return new Tensor(out, [N, M, OH, OW]);
  }

  override getName(): string {
    return 'ConvInteger';
  }
}

function retag(q: QTensor, data: QTensor['data'], shape: readonly number[]): QTensor {
  return makePerTensorQuantizedTensor({ data, shape }, q.qScale(), q.qZeroPoint());
}

function resolveShape(numel: number, shape: readonly number[], what: string): number[] {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = shape.map((d) => (d === -1 ? numel / known : d));
  if (out.reduce((a, b) => a * b, 1) !== numel || out.some((d) => !Number.isInteger(d))) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${what}: cannot reshape ${numel} elements to [${shape.join(', ')}]; check the Reshape's shape.`,
    );
  }
  return out;
}

/**
 * Reshape of a QTensor: codes and qparams unchanged (spec pytorch-semantics §5.9); a float Tensor is
 * reshaped as `Tensor.reshape`.
 *
 * @throws `SHAPE_MISMATCH` when the element count does not fit.
 * @example
 * quantizedReshape(q, [1, -1]);
 */
export function quantizedReshape(x: QTensor | Tensor, shape: readonly number[]): QTensor | Tensor {
  if (x instanceof Tensor) return x.reshape(shape);
  return retag(x, x.data, resolveShape(x.numel, shape, 'quantizedReshape'));
}

/**
 * Permutes the dimensions of a QTensor (codes moved, qparams unchanged); a float Tensor is permuted
 * as `Tensor.permute`.
 *
 * @example
 * quantizedPermute(q, [0, 2, 3, 1]);
 */
export function quantizedPermute(x: QTensor | Tensor, dims: readonly number[]): QTensor | Tensor {
  if (x instanceof Tensor) return x.permute(dims).contiguous();
  // Permute the codes through a float carrier: codes ≤ 255 in magnitude are exact in float32.
  const t = new Tensor(Float32Array.from(x.data as ArrayLike<number>), x.shape).permute(dims).contiguous();
  const data = new (x.data.constructor as new (n: number) => QTensor['data'])(t.numel);
  const src = t.toFloat32Array();
  for (let i = 0; i < src.length; i++) data[i] = src[i]!;
  return retag(x, data, t.shape);
}

function sizeOfImpl(x: QTensor | Tensor, dim: number): number {
  return x.shape[dim < 0 ? x.shape.length + dim : dim]!;
}

/**
 * `x.size(dim)` for a Tensor or a QTensor (what a folded `Shape → Gather` of a dynamic batch
 * becomes); a functional op, so `symbolicTrace` (and so `prepareFx`) records it as a node.
 *
 * @example
 * sizeOf(q, 0); // the batch size at run time
 */
export const sizeOf = defineOp('sizeOf', sizeOfImpl);

/**
 * The scale of a per-tensor QTensor as a float scalar Tensor (output 1 of `DynamicQuantizeLinear`).
 *
 * @example
 * qScaleOf(new DynamicQuantizeLinear().call(x));
 */
export function qScaleOf(q: QTensor): Tensor {
  return new Tensor(Float32Array.of(q.qScale()), []);
}
