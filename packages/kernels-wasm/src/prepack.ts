// Weight prepacking: the checks and the int32 overflow bound of @quint/qtensor (shared with
// @quint/kernels-js: same codes, same rules), then the one-time copy of the weights into wasm memory,
// pre-widened to int16 `w − w_zp[c]` in the layout the micro-kernels read (assembly/gemm.ts,
// assembly/conv.ts).
import {
  checkConv2dPrepack,
  checkLinearPrepack,
  type Conv2dPrepackOptions,
  type GemmRequantization,
  type LinearPrepackOptions,
  type PackedConv2d,
  type PackedLinear,
  type QTensor,
  type WeightChannels,
} from '@quint/qtensor';
import { QuantError } from '@quint/tensor';
import type { KernelsAbi } from './abi.js';
import type { Unit } from './threads.js';

/** The wasm side of a packed weight. */
export interface WasmWeights {
  /** Address of the packed int16 weights; 0 once freed. */
  ptr: number;
  readonly bytes: number;
  /** K rounded up to even. */
  readonly kp: number;
  /** Per-channel bias and multiplier buffers (4 bytes × channels each) for the requantization. */
  readonly bias: number;
  readonly mult: number;
  /**
   * Linear only: the panels again as int8, built by the first batch-1 call when every `w − w_zp`
   * fits (see {@link int8Panels}); 0 until then, or when they do not fit.
   */
  int8: number;
  /**
   * True when every packed value fits in int8 (linear weights with zero points 0); set false when
   * wasm memory cannot hold the int8 copy, and the int16 panels serve.
   */
  fitsInt8: boolean;
  /**
   * The last call's requantization, reused while the input and output qparams, engine and ReLU stay
   * the same (a pure function of them): most calls of a converted model repeat them.
   */
  cache: { key: readonly unknown[]; rq: GemmRequantization } | null;
  /**
   * The last call's work units, reused while its key (requantization, input shape, lanes and
   * scratch addresses) stays the same: building them costs tens of µs, serial time for every
   * threaded call, and a model's layer repeats its call on each inference.
   */
  units: { key: readonly unknown[]; units: readonly Unit[] } | null;
}

/** A linear weight packed into wasm memory: B panels of 8 output features. */
export interface WasmPackedLinear extends PackedLinear {
  readonly channels: WeightChannels;
  readonly inFeatures: number;
  readonly packed: WasmWeights;
}

/** A conv weight packed into wasm memory: GEMM A rows per group, or depthwise taps. */
export interface WasmPackedConv2d extends PackedConv2d {
  readonly channels: WeightChannels;
  readonly kernelShape: readonly [number, number, number, number];
  /** True when the depthwise kernel runs it (one input channel per group, groups > 1). */
  readonly depthwise: boolean;
  readonly packed: WasmWeights;
  /** Bytes of one group's packed rows (GEMM path). */
  readonly groupBytes: number;
}

function copyIn(
  abi: KernelsAbi,
  data: Int16Array,
  channels: number,
  kp: number,
  what: string,
  fitsInt8 = false,
): WasmWeights {
  const bytes = data.byteLength;
  const [ptr, bias, mult] = abi.heap.allocAll([bytes, channels * 4, channels * 4], what) as [number, number, number];
  abi.heap.i16(ptr, data.length).set(data);
  return { ptr, bytes, kp, bias, mult, int8: 0, fitsInt8, cache: null, units: null };
}

/**
 * The address of a linear weight's int8 GEMV blocks (`qs8_gemv_1x16__wasmsimd`'s layout: per
 * block of 16 columns and k-pair, two 16-byte halves of 8 columns, each int16 lane `hi·256 + lo +
 * 128` with hi from column c and lo from column c + 4 of the int16 panels' lane; zero weights
 * padding the last block), built from the int16 panels on first use; 0 when `w − w_zp` may need 9
 * bits (nonzero zero points) or wasm memory has no room for the copy, and the int16 panels serve.
 * The batch-1 GEMV streams all the weights once per call: half the bytes.
 */
export function int8Panels(abi: KernelsAbi, w: WasmWeights): number {
  if (w.int8 === 0 && w.fitsInt8) {
    const kp = w.kp;
    const panels = w.bytes / (kp * 16);
    const bytes = Math.ceil(panels / 2) * kp * 16;
    try {
      w.int8 = abi.heap.alloc(bytes, `linear int8 GEMV copy (${bytes} bytes)`);
    } catch (e) {
      // An optional copy: without room for it the GEMV reads the int16 panels.
      if (!(e instanceof QuantError && e.code === 'LIMIT_EXCEEDED')) throw e;
      w.fitsInt8 = false;
      return 0;
    }
    const src = abi.heap.i16(w.ptr, panels * kp * 8);
    // Zero weights everywhere first (lo byte 0 + 128, hi byte 0): the half block past an odd panel count.
    const dst = new Uint16Array(abi.heap.memory.buffer, w.int8, bytes / 2).fill(128);
    for (let p = 0; p < panels; p++) {
      for (let t = 0; t < kp / 2; t++) {
        const from = p * kp * 8 + t * 16;
        const to = ((p >> 1) * kp * 16 + t * 32 + (p & 1) * 16) / 2;
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 2; j++) {
            dst[to + 2 * i + j] = ((src[from + 2 * i + j]! & 255) << 8) | (src[from + 2 * (i + 4) + j]! + 128);
          }
        }
      }
    }
  }
  return w.int8;
}

/** Frees a packed weight's wasm memory (idempotent). */
export function freeWeights(abi: KernelsAbi | undefined, w: WasmWeights): void {
  if (w.ptr !== 0 && abi) for (const p of [w.ptr, w.bias, w.mult, w.int8]) abi.heap.release(p);
  w.ptr = 0;
  w.int8 = 0;
  w.cache = null;
  w.units = null;
}

/**
 * Packs a linear weight `[N, K]` as B panels of 8 output features: panel p, k-pair t, column c,
 * parity j at int16 index `p·kp·8 + t·16 + c·2 + j` (assembly/gemm.ts).
 */
export function prepackLinear(
  abi: KernelsAbi,
  backend: string,
  weight: QTensor,
  bias: Float32Array | null,
  opts: LinearPrepackOptions = {},
): WasmPackedLinear {
  const what = 'prepackLinear';
  const { channels, bias: b, inFeatures: k } = checkLinearPrepack(weight, bias, opts);
  const n = channels.outChannels;
  const kp = k + (k & 1);
  const panels = Math.ceil(n / 8);
  const data = new Int16Array(panels * kp * 8);
  const codes = channels.codes;
  for (let o = 0; o < n; o++) {
    const z = channels.zeroPoints[o]!;
    const base = (o >> 3) * kp * 8 + (o & 7) * 2;
    for (let j = 0; j < k; j++) data[base + (j >> 1) * 16 + (j & 1)] = codes[o * k + j]! - z;
  }
  // With zero points 0 the packed values are the qint8 codes themselves, so they fit int8.
  const packed = copyIn(abi, data, n, kp, `${what} [${n}, ${k}]`, channels.symmetric);
  return { kind: 'linear', backend, weight, bias: b, channels, inFeatures: k, packed };
}

/**
 * Packs a conv weight `[OC, ICG, KH, KW]`: for the GEMM path, each group's OC/groups rows of
 * K = ICG·KH·KW in groups of 4 rows (row r of group g at `g·kp·4 + t·8 + (r mod 4)·2 + j`, zero rows
 * padding the last group); for the depthwise path (ICG = 1, groups > 1), KH·KW taps per channel.
 */
export function prepackConv2d(
  abi: KernelsAbi,
  backend: string,
  weight: QTensor,
  bias: Float32Array | null,
  opts: Conv2dPrepackOptions = {},
): WasmPackedConv2d {
  const what = 'prepackConv2d';
  const { channels, bias: b, kernelShape, stride, padding, dilation, groups } = checkConv2dPrepack(weight, bias, opts);
  const [oc, icg, kh, kw] = kernelShape;
  const k = icg * kh * kw;
  const kp = k + (k & 1);
  const codes = channels.codes;
  const depthwise = icg === 1 && groups > 1;
  let data: Int16Array;
  let groupBytes = 0;
  if (depthwise) {
    data = new Int16Array(oc * k);
    for (let o = 0; o < oc; o++) {
      const z = channels.zeroPoints[o]!;
      for (let j = 0; j < k; j++) data[o * k + j] = codes[o * k + j]! - z;
    }
  } else {
    const ocg = oc / groups;
    const rowGroups = Math.ceil(ocg / 4);
    const perGroup = rowGroups * kp * 4;
    groupBytes = perGroup * 2;
    data = new Int16Array(groups * perGroup);
    for (let o = 0; o < oc; o++) {
      const g = Math.floor(o / ocg);
      const r = o - g * ocg;
      const z = channels.zeroPoints[o]!;
      const base = g * perGroup + (r >> 2) * kp * 4 + (r & 3) * 2;
      for (let j = 0; j < k; j++) data[base + (j >> 1) * 8 + (j & 1)] = codes[o * k + j]! - z;
    }
  }
  const packed = copyIn(abi, data, oc, kp, `${what} [${oc}, ${icg}, ${kh}, ${kw}]`);
  return {
    kind: 'conv2d',
    backend,
    weight,
    bias: b,
    stride,
    padding,
    dilation,
    groups,
    channels,
    kernelShape,
    depthwise,
    packed,
    groupBytes,
  };
}
