// Every binding to the wasm module lives here (spec/aesthetics-anchors.md §3.5): raw exports are
// wrapped in functions taking named-field structs, so call sites never pass positional lists.
import { QuantError } from '@quint/tensor';
import { WasmHeap } from './heap.js';

/**
 * The raw signature of the conv accumulator kernels (`qs8_conv2d_acc`, `qs16_conv2d_acc`,
 * `qs8_conv1x1_acc`); see {@link ConvAccArgs} for what `x` and `tmp` are to each.
 */
type ConvAccExport = (
  desc: number,
  x: number,
  w: number,
  acc: number,
  p0: number,
  p1: number,
  chunk: number,
  panels: number,
  tmp: number,
  r0: number,
  r1: number,
) => void;

/** The raw exports of build/kernels.wasm (names follow the README's kernel naming grammar). */
interface RawExports {
  qs16_gemm_4x8__wasmsimd(
    a: number,
    b: number,
    c: number,
    cStride: number,
    m: number,
    n0: number,
    n1: number,
    kp: number,
  ): void;
  qs16_gemv_1x16__wasmsimd(a: number, b: number, c: number, n0: number, n1: number, kp: number): void;
  qs8_gemv_1x16__wasmsimd(a: number, b: number, c: number, n0: number, n1: number, kp: number): void;
  q8_widen_rows__wasmsimd(
    x: number,
    xStride: number,
    rows: number,
    k: number,
    zp: number,
    signed: number,
    out: number,
    kp: number,
  ): void;
  q8_pack_a4__wasmsimd(
    x: number,
    xStride: number,
    rows: number,
    k: number,
    zp: number,
    signed: number,
    out: number,
    kp: number,
    tmp: number,
  ): void;
  qs8_conv2d_acc__wasmsimd: ConvAccExport;
  q8_widen_pad__wasmsimd(desc: number, x: number, planes: number, out: number): void;
  qs16_conv2d_acc__wasmsimd: ConvAccExport;
  qs8_conv1x1_acc__wasmsimd: ConvAccExport;
  qs8_dwconv2d_acc__wasmsimd(
    desc: number,
    x: number,
    w: number,
    acc: number,
    c0: number,
    c1: number,
    pad: number,
  ): void;
  q8_requant_minmax_fp32__wasmsimd(
    acc: number,
    bias: number,
    mult: number,
    out: number,
    rows: number,
    cols: number,
    stride: number,
    perRow: number,
    zp: number,
    lo: number,
    hi: number,
    signed: number,
    qnnpack: number,
  ): void;
  q8_requant_minmax_fbias__wasmsimd(
    acc: number,
    fbias: number,
    mult: number,
    out: number,
    rows: number,
    cols: number,
    stride: number,
    perRow: number,
    zp: number,
    lo: number,
    hi: number,
    signed: number,
    zpBefore: number,
  ): void;
  q8_quantize_fp32__wasmsimd(
    x: number,
    y: number,
    n: number,
    inv: number,
    zp: number,
    qmin: number,
    qmax: number,
    signed: number,
  ): void;
  q8_quantize_div__wasmsimd(
    x: number,
    y: number,
    n: number,
    s: number,
    zp: number,
    qmin: number,
    qmax: number,
    signed: number,
  ): void;
  q8_clamp__wasmsimd(x: number, y: number, n: number, lo: number, hi: number): void;
  q8_lut__wasmsimd(x: number, y: number, n: number, table: number): void;
  q8_lut2__wasmsimd(a: number, b: number, y: number, n: number, table: number, lo: number): void;
  q8_nchw_to_nhwc__wasmsimd(x: number, y: number, n: number, c: number, hw: number): void;
  q8_nhwc_to_nchw__wasmsimd(x: number, y: number, n: number, c: number, hw: number): void;
  q8_add_qnnpack__wasmsimd(
    a: number,
    b: number,
    y: number,
    n: number,
    zpp: number,
    aMult: number,
    bMult: number,
    shift: number,
    zp: number,
    lo: number,
  ): void;
  q8_add_generic__wasmsimd(
    a: number,
    b: number,
    y: number,
    n: number,
    tabA: number,
    tabB: number,
    inv: number,
    zp: number,
    relu: number,
    loopLen: number,
    vecEnd: number,
  ): void;
  q8_maxpool2d__wasmsimd(
    x: number,
    y: number,
    planes: number,
    H: number,
    W: number,
    oH: number,
    oW: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    dh: number,
    dw: number,
    edge: number,
  ): void;
  q8_avgpool2d__wasmsimd(
    x: number,
    y: number,
    planes: number,
    H: number,
    W: number,
    oH: number,
    oW: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    zp: number,
    path: number,
    qs: number,
    cip: number,
    dov: number,
  ): void;
  q8_adaptive_avgpool2d__wasmsimd(
    x: number,
    y: number,
    planes: number,
    H: number,
    W: number,
    oH: number,
    oW: number,
    hb: number,
    wb: number,
    zp: number,
    path: number,
    scale: number,
  ): void;
  q8_mean_rows__wasmsimd(
    x: number,
    y: number,
    outer: number,
    inner: number,
    zp: number,
    qnnpack: number,
    qs: number,
  ): void;
  q8_mul_minmax_fp32__wasmsimd(
    a: number,
    b: number,
    y: number,
    n: number,
    za: number,
    zb: number,
    m: number,
    zp: number,
    lo: number,
  ): void;
  q8_cat__wasmsimd(
    x: number,
    y: number,
    rows: number,
    rowLen: number,
    yStride: number,
    split: number,
    tabV: number,
    tabS: number,
    copy: number,
  ): void;
}

/** Names of the raw exports, in the order worker threads index them. */
export const KERNEL_EXPORTS = [
  'qs16_gemm_4x8__wasmsimd',
  'qs16_gemv_1x16__wasmsimd',
  'qs8_gemv_1x16__wasmsimd',
  'q8_widen_rows__wasmsimd',
  'q8_pack_a4__wasmsimd',
  'qs8_conv2d_acc__wasmsimd',
  'q8_widen_pad__wasmsimd',
  'qs16_conv2d_acc__wasmsimd',
  'qs8_conv1x1_acc__wasmsimd',
  'qs8_dwconv2d_acc__wasmsimd',
  'q8_requant_minmax_fp32__wasmsimd',
  'q8_requant_minmax_fbias__wasmsimd',
  'q8_quantize_div__wasmsimd',
  'q8_clamp__wasmsimd',
  'q8_lut__wasmsimd',
  'q8_lut2__wasmsimd',
  'q8_nchw_to_nhwc__wasmsimd',
  'q8_nhwc_to_nchw__wasmsimd',
  'q8_add_qnnpack__wasmsimd',
  'q8_add_generic__wasmsimd',
  'q8_maxpool2d__wasmsimd',
  'q8_avgpool2d__wasmsimd',
  'q8_adaptive_avgpool2d__wasmsimd',
  'q8_mean_rows__wasmsimd',
  'q8_mul_minmax_fp32__wasmsimd',
  'q8_cat__wasmsimd',
  'q8_quantize_fp32__wasmsimd',
] as const satisfies readonly (keyof RawExports)[];

/** A raw export's name. */
export type KernelExport = (typeof KERNEL_EXPORTS)[number];

/** Field order of the conv descriptor read by assembly/conv.ts (int32 each). */
export interface ConvDesc {
  /** Input channels of one group. */
  readonly cin: number;
  readonly ih: number;
  readonly iw: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly oh: number;
  readonly ow: number;
  readonly xZeroPoint: number;
  readonly signed: boolean;
  /** K = cin·kh·kw rounded up to even. */
  readonly kp: number;
  /** Depthwise channel multiplier (output channels per input channel). */
  readonly multiplier: number;
}

/** Bytes of a {@link ConvDesc} in wasm memory. */
export const CONV_DESC_BYTES = 17 * 4;

/** One GEMM call: C[m, n0..n1) = A · B (layouts in assembly/gemm.ts). */
export interface GemmArgs {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  /** Bytes between rows of C. */
  readonly cStride: number;
  readonly m: number;
  readonly n0: number;
  readonly n1: number;
  readonly kp: number;
}

/** One requantization call over `rows × cols` int32 accumulators. */
export interface RequantArgs {
  readonly acc: number;
  /** int32 (`fp32` kind) or float32 (`fbias` kind) bias, one per channel. */
  readonly bias: number;
  readonly mult: number;
  readonly out: number;
  readonly rows: number;
  readonly cols: number;
  /** Elements between rows, in the accumulators and in the output (≥ cols). */
  readonly stride: number;
  /** Channel = row (conv) or column (linear); `bias` and `mult` start at the first row or column. */
  readonly perRow: boolean;
  readonly zeroPoint: number;
  readonly lo: number;
  readonly hi: number;
  readonly signedOut: boolean;
}

/** The loaded module: its memory heap and typed kernel entry points. */
export interface KernelsAbi {
  readonly heap: WasmHeap;
  readonly module: WebAssembly.Module;
  /** True when the memory is a SharedArrayBuffer (the threads build). */
  readonly shared: boolean;
  /** Calls a raw export by name with positional i32 arguments (used by the thread pool). */
  call(name: KernelExport, args: readonly number[]): void;
  gemm(args: GemmArgs): void;
  gemv(args: {
    readonly a: number;
    readonly b: number;
    readonly c: number;
    readonly n0: number;
    readonly n1: number;
    readonly kp: number;
  }): void;
  widenRows(args: {
    readonly x: number;
    readonly xStride: number;
    readonly rows: number;
    readonly k: number;
    readonly zeroPoint: number;
    readonly signed: boolean;
    readonly out: number;
    readonly kp: number;
  }): void;
  packA4(args: {
    readonly x: number;
    readonly xStride: number;
    readonly rows: number;
    readonly k: number;
    readonly zeroPoint: number;
    readonly signed: boolean;
    readonly out: number;
    readonly kp: number;
    readonly tmp: number;
  }): void;
  writeConvDesc(ptr: number, d: ConvDesc): void;
  /** Widens `planes` input channels into the zero-bordered int16 planes `qs16_conv2d_acc` reads. */
  widenPad(args: { readonly desc: number; readonly x: number; readonly planes: number; readonly out: number }): void;
  conv2dAccArgs(args: ConvAccArgs): number[];
  dwconv2dAccArgs(args: DwAccArgs): number[];
  requantFp32Args(args: RequantArgs & { readonly qnnpackSaturation: boolean }): number[];
  requantFbiasArgs(args: RequantArgs & { readonly zeroPointBeforeRounding: boolean }): number[];
  // Non-GEMM kernels (assembly/nongemm.ts); addresses into wasm memory, n = element count.
  /** float32 → 8-bit codes with PyTorch's quantize_per_tensor steps; `inv` = f32(1/f32(scale)). */
  quantize(args: {
    readonly x: number;
    readonly y: number;
    readonly n: number;
    readonly inv: number;
    readonly zeroPoint: number;
    readonly qmin: number;
    readonly qmax: number;
    readonly signed: boolean;
  }): void;
  /** float32 → 8-bit codes as ONNX Runtime's QuantizeLinear: `clamp(rne(f32(x / scale)) + zp)`. */
  quantizeDiv(args: {
    readonly x: number;
    readonly y: number;
    readonly n: number;
    readonly scale: number;
    readonly zeroPoint: number;
    readonly qmin: number;
    readonly qmax: number;
    readonly signed: boolean;
  }): void;
  clamp(args: {
    readonly x: number;
    readonly y: number;
    readonly n: number;
    readonly lo: number;
    readonly hi: number;
  }): void;
  lut(args: { readonly x: number; readonly y: number; readonly n: number; readonly table: number }): void;
  /** `y[i] = max(table[(a[i] << 8) | b[i]], lo)` over n codes (a 256×256 table of code pairs). */
  lut2(args: {
    readonly a: number;
    readonly b: number;
    readonly y: number;
    readonly n: number;
    readonly table: number;
    readonly lo: number;
  }): void;
  nchwToNhwc(args: TransposeArgs): void;
  nhwcToNchw(args: TransposeArgs): void;
  addQnnpack(args: {
    readonly a: number;
    readonly b: number;
    readonly y: number;
    readonly n: number;
    readonly zpp: number;
    readonly aMult: number;
    readonly bMult: number;
    readonly shift: number;
    readonly zeroPoint: number;
    readonly lo: number;
  }): void;
  addGeneric(args: {
    readonly a: number;
    readonly b: number;
    readonly y: number;
    readonly n: number;
    readonly tabA: number;
    readonly tabB: number;
    readonly inv: number;
    readonly zeroPoint: number;
    readonly relu: boolean;
    readonly loopLen: number;
    readonly vecEnd: number;
  }): void;
  maxPool2d(args: PoolArgs & { readonly d: readonly [number, number]; readonly edge: boolean }): void;
  avgPool2d(
    args: PoolArgs & {
      readonly zeroPoint: number;
      readonly path: number;
      readonly qs: number;
      readonly cip: boolean;
      readonly dov: number;
    },
  ): void;
  adaptiveAvgPool2d(args: {
    readonly x: number;
    readonly y: number;
    readonly planes: number;
    readonly H: number;
    readonly W: number;
    readonly oH: number;
    readonly oW: number;
    readonly hb: number;
    readonly wb: number;
    readonly zeroPoint: number;
    readonly path: number;
    readonly scale: number;
  }): void;
  meanRows(args: {
    readonly x: number;
    readonly y: number;
    readonly outer: number;
    readonly inner: number;
    readonly zeroPoint: number;
    readonly qnnpack: boolean;
    readonly qs: number;
  }): void;
  mul(args: {
    readonly a: number;
    readonly b: number;
    readonly y: number;
    readonly n: number;
    readonly aZeroPoint: number;
    readonly bZeroPoint: number;
    readonly multiplier: number;
    readonly zeroPoint: number;
    readonly lo: number;
  }): void;
  cat(args: {
    readonly x: number;
    readonly y: number;
    readonly rows: number;
    readonly rowLen: number;
    readonly yStride: number;
    readonly split: number;
    readonly tabV: number;
    readonly tabS: number;
    readonly copy: boolean;
  }): void;
}

/** A byte transpose between NCHW and NHWC of `n` images of `c` channels × `hw` pixels. */
export interface TransposeArgs {
  readonly x: number;
  readonly y: number;
  readonly n: number;
  readonly c: number;
  readonly hw: number;
}

/** A 2-D pooling window over `planes` planes of H×W (kernel k, stride s, padding p, as [h, w]). */
export interface PoolArgs {
  readonly x: number;
  readonly y: number;
  readonly planes: number;
  readonly H: number;
  readonly W: number;
  readonly oH: number;
  readonly oW: number;
  readonly k: readonly [number, number];
  readonly s: readonly [number, number];
  readonly p: readonly [number, number];
}

/**
 * Arguments of one conv accumulator call over output pixels [p0, p1) and output channels [r0, r1)
 * of the group (r0 a multiple of 4), for either kernel:
 * `qs8_conv2d_acc__wasmsimd` (x: the group's 8-bit input; tmp: two rows of chunk + 8 int16) or
 * `qs16_conv2d_acc__wasmsimd` (x: the group's padded int16 planes; tmp: kp int32 row offsets) or
 * `qs8_conv1x1_acc__wasmsimd` (1×1, stride 1, no padding; x: the group's 8-bit input; tmp: kp int32
 * plane offsets).
 */
export interface ConvAccArgs {
  readonly desc: number;
  readonly x: number;
  readonly w: number;
  readonly acc: number;
  readonly p0: number;
  readonly p1: number;
  readonly chunk: number;
  readonly panels: number;
  readonly tmp: number;
  readonly r0: number;
  readonly r1: number;
}

/** Arguments of one depthwise accumulator call over output channels [c0, c1). */
export interface DwAccArgs {
  readonly desc: number;
  readonly x: number;
  readonly w: number;
  readonly acc: number;
  readonly c0: number;
  readonly c1: number;
  readonly pad: number;
}

// The smallest module using a v128 op: `(func (result v128) v128.const 0)`. If it does not validate,
// the runtime has no SIMD128 and no build of this package can run there.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);

/** True when this runtime validates WebAssembly SIMD128. */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

function initFailed(message: string, cause?: unknown): QuantError {
  return new QuantError(
    'BACKEND_INIT_FAILED',
    `${message}; the wasm backend cannot run here — use createJsBackend() from @quint/kernels-js instead (createBackendWithFallback does this for you).`,
    cause === undefined ? undefined : { cause },
  );
}

/** Reads the wasm file: `fs` for `file:` URLs (Node), `fetch` otherwise (browsers, http in Node). */
export async function readWasmBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === 'file:') {
    try {
      // A computed specifier keeps browser bundlers from trying to resolve a Node built-in.
      const fsName = 'node:fs/promises';
      const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
      return new Uint8Array(await fs.readFile(url));
    } catch (cause) {
      throw initFailed(`could not read the wasm module ${url.href} (${(cause as Error).message})`, cause);
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (cause) {
    throw initFailed(`could not fetch the wasm module ${url.href} (${(cause as Error).message})`, cause);
  }
  if (!res.ok) throw initFailed(`fetching the wasm module ${url.href} returned HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Compiles the module after checking SIMD support, naming which of the two failed. */
export async function compileKernels(bytes: Uint8Array<ArrayBuffer>, url: URL): Promise<WebAssembly.Module> {
  if (!hasWasmSimd()) throw initFailed('this JavaScript runtime has no WebAssembly SIMD128 support');
  if (!WebAssembly.validate(bytes)) {
    throw initFailed(
      `${url.href} is not a valid kernels-wasm module (${bytes.byteLength} bytes; rebuild with \`npx -y pnpm@10.34.9 run build\`)`,
    );
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (cause) {
    throw initFailed(`compiling ${url.href} failed (${(cause as Error).message})`, cause);
  }
}

/** Instantiates the module on `memory` and binds the kernels. */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<KernelsAbi> {
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (cause) {
    throw initFailed(`instantiating the kernels failed (${(cause as Error).message})`, cause);
  }
  const raw = instance.exports as unknown as RawExports;
  for (const name of KERNEL_EXPORTS) {
    if (typeof raw[name] !== 'function') throw initFailed(`the wasm module lacks export ${name} (stale build?)`);
  }
  // Address 0 stays unused so a zero pointer is never a live buffer.
  const heap = new WasmHeap(memory, 1024);
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const b = (v: boolean): number => (v ? 1 : 0);
  return {
    heap,
    module,
    shared,
    call(name, args) {
      (raw[name] as (...a: number[]) => void)(...args);
    },
    gemm: (g) => raw.qs16_gemm_4x8__wasmsimd(g.a, g.b, g.c, g.cStride, g.m, g.n0, g.n1, g.kp),
    gemv: (g) => raw.qs16_gemv_1x16__wasmsimd(g.a, g.b, g.c, g.n0, g.n1, g.kp),
    widenRows: (w) => raw.q8_widen_rows__wasmsimd(w.x, w.xStride, w.rows, w.k, w.zeroPoint, b(w.signed), w.out, w.kp),
    packA4: (w) => raw.q8_pack_a4__wasmsimd(w.x, w.xStride, w.rows, w.k, w.zeroPoint, b(w.signed), w.out, w.kp, w.tmp),
    writeConvDesc(ptr, d) {
      heap
        .i32(ptr, 17)
        .set([
          d.cin,
          d.ih,
          d.iw,
          d.kh,
          d.kw,
          d.sh,
          d.sw,
          d.ph,
          d.pw,
          d.dh,
          d.dw,
          d.oh,
          d.ow,
          d.xZeroPoint,
          b(d.signed),
          d.kp,
          d.multiplier,
        ]);
    },
    widenPad: (p) => raw.q8_widen_pad__wasmsimd(p.desc, p.x, p.planes, p.out),
    conv2dAccArgs: (c) => [c.desc, c.x, c.w, c.acc, c.p0, c.p1, c.chunk, c.panels, c.tmp, c.r0, c.r1],
    dwconv2dAccArgs: (c) => [c.desc, c.x, c.w, c.acc, c.c0, c.c1, c.pad],
    requantFp32Args: (r) => [
      r.acc,
      r.bias,
      r.mult,
      r.out,
      r.rows,
      r.cols,
      r.stride,
      b(r.perRow),
      r.zeroPoint,
      r.lo,
      r.hi,
      b(r.signedOut),
      b(r.qnnpackSaturation),
    ],
    requantFbiasArgs: (r) => [
      r.acc,
      r.bias,
      r.mult,
      r.out,
      r.rows,
      r.cols,
      r.stride,
      b(r.perRow),
      r.zeroPoint,
      r.lo,
      r.hi,
      b(r.signedOut),
      b(r.zeroPointBeforeRounding),
    ],
    quantize: (q) => raw.q8_quantize_fp32__wasmsimd(q.x, q.y, q.n, q.inv, q.zeroPoint, q.qmin, q.qmax, b(q.signed)),
    quantizeDiv: (q) => raw.q8_quantize_div__wasmsimd(q.x, q.y, q.n, q.scale, q.zeroPoint, q.qmin, q.qmax, b(q.signed)),
    clamp: (c) => raw.q8_clamp__wasmsimd(c.x, c.y, c.n, c.lo, c.hi),
    lut: (c) => raw.q8_lut__wasmsimd(c.x, c.y, c.n, c.table),
    lut2: (c) => raw.q8_lut2__wasmsimd(c.a, c.b, c.y, c.n, c.table, c.lo),
    nchwToNhwc: (t) => raw.q8_nchw_to_nhwc__wasmsimd(t.x, t.y, t.n, t.c, t.hw),
    nhwcToNchw: (t) => raw.q8_nhwc_to_nchw__wasmsimd(t.x, t.y, t.n, t.c, t.hw),
    addQnnpack: (a) =>
      raw.q8_add_qnnpack__wasmsimd(a.a, a.b, a.y, a.n, a.zpp, a.aMult, a.bMult, a.shift, a.zeroPoint, a.lo),
    addGeneric: (a) =>
      raw.q8_add_generic__wasmsimd(
        a.a,
        a.b,
        a.y,
        a.n,
        a.tabA,
        a.tabB,
        a.inv,
        a.zeroPoint,
        b(a.relu),
        a.loopLen,
        a.vecEnd,
      ),
    maxPool2d: (p) =>
      raw.q8_maxpool2d__wasmsimd(
        p.x,
        p.y,
        p.planes,
        p.H,
        p.W,
        p.oH,
        p.oW,
        p.k[0],
        p.k[1],
        p.s[0],
        p.s[1],
        p.p[0],
        p.p[1],
        p.d[0],
        p.d[1],
        b(p.edge),
      ),
    avgPool2d: (p) =>
      raw.q8_avgpool2d__wasmsimd(
        p.x,
        p.y,
        p.planes,
        p.H,
        p.W,
        p.oH,
        p.oW,
        p.k[0],
        p.k[1],
        p.s[0],
        p.s[1],
        p.p[0],
        p.p[1],
        p.zeroPoint,
        p.path,
        p.qs,
        b(p.cip),
        p.dov,
      ),
    adaptiveAvgPool2d: (p) =>
      raw.q8_adaptive_avgpool2d__wasmsimd(
        p.x,
        p.y,
        p.planes,
        p.H,
        p.W,
        p.oH,
        p.oW,
        p.hb,
        p.wb,
        p.zeroPoint,
        p.path,
        p.scale,
      ),
    meanRows: (m) => raw.q8_mean_rows__wasmsimd(m.x, m.y, m.outer, m.inner, m.zeroPoint, b(m.qnnpack), m.qs),
    mul: (m) =>
      raw.q8_mul_minmax_fp32__wasmsimd(m.a, m.b, m.y, m.n, m.aZeroPoint, m.bZeroPoint, m.multiplier, m.zeroPoint, m.lo),
    cat: (c) => raw.q8_cat__wasmsimd(c.x, c.y, c.rows, c.rowLen, c.yStride, c.split, c.tabV, c.tabS, b(c.copy)),
  };
}
