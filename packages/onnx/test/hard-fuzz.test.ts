// Hard inputs for the ONNX loader and the quantized-model importer (issue 12): seeded fuzzing of
// random bytes, truncations, and structured mutations of the real fixtures made at the protobuf
// level (so they can say what onnx.proto allows and quint's writer never would: unknown data
// types, negative or huge dims, dangling inputs, cycles, wrong initializer sizes, missing or
// mistyped attributes, zero/negative/NaN scales, zero points out of range, per-channel lengths
// that do not match). Every case ends in a model (which then runs) or a QuantError with a code.
import { fc } from '@fast-check/vitest';
import protobuf from 'protobufjs/light.js';
import { describe, expect, test } from 'vitest';
import { isQuantError, Tensor } from '@quint/tensor';
import { loadModel, runModel, type QuintModel } from '../src/index.js';
import { ONNX_SCHEMA } from '../src/onnx-schema.js';
import { fixture } from './helpers.js';

// Plain protobufjs objects, mutated freely: any is the honest type here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any;
const ModelProto = protobuf.Root.fromJSON(ONNX_SCHEMA as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');
const toRaw = (bytes: Uint8Array): Raw =>
  ModelProto.toObject(ModelProto.decode(bytes), { defaults: false, arrays: true, longs: Number }) as Raw;
const fromRaw = (raw: Raw): Uint8Array => ModelProto.encode(ModelProto.fromObject(raw)).finish();

// Small limits keep every accepted case cheap: no allocation beyond 2^20 elements per tensor.
const LIMITS = { maxTensorElements: 2 ** 20, maxModelBytes: 2 ** 22 } as const;
const FLOAT = ['convnet.onnx', 'cnn-static.onnx', 'cnn-dynamic-op11.onnx', 'mlp3d.onnx', 'zoo.onnx'];
const QUANT = ['qdq-u8s8.onnx', 'qdq-s8s8.onnx', 'qop-cnn.onnx', 'qop-ms.onnx', 'dyn-matmul.onnx'];
const bytesOf = new Map([...FLOAT, ...QUANT].map((f) => [f, fixture(f)]));

const counts: Record<string, number> = {};
const codes: Record<string, Record<string, number>> = {};
let slowest = 0;

/** Loads (and, when it loads, runs on zeros) the bytes; returns 'ok' or the QuantError code. */
async function outcome(target: string, bytes: Uint8Array): Promise<string> {
  counts[target] = (counts[target] ?? 0) + 1;
  const t0 = performance.now();
  let code = 'ok';
  try {
    const m: QuintModel = await loadModel(bytes, LIMITS);
    const info = m.graphModule.meta['onnx'] as { inputs: { shape: number[] }[] };
    await runModel(
      m,
      info.inputs.map((i) => new Tensor(new Float32Array(i.shape.reduce((a, b) => a * b, 1)), i.shape)),
    );
  } catch (e) {
    if (!isQuantError(e))
      throw new Error(`${target}: not a QuantError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, {
        cause: e,
      });
    expect(e.message.length).toBeGreaterThan(10);
    code = e.code;
  }
  slowest = Math.max(slowest, performance.now() - t0);
  (codes[target] ??= {})[code] = (codes[target]![code] ?? 0) + 1;
  return code;
}

const FUZZ = { seed: 1212, interruptAfterTimeLimit: 6000 } as const;

// ------------------------------------------------------------------ structured mutations

const HUGE = [-1, -(2 ** 31), 0, 2 ** 31, 2 ** 31 - 1, 2 ** 40, Number.MAX_SAFE_INTEGER, 65536];
const SCALES = [
  0,
  -0,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e-45,
  1.4e-45,
  3.4e38,
  1e-38,
  1e30,
];
const ZPS = [-1, 256, 300, -129, 128, 2 ** 31 - 1, -(2 ** 31)];

type Mutation = (raw: Raw, pick: (n: number) => number) => void;

const tensors = (raw: Raw): Raw[] => {
  const out: Raw[] = [...(raw.graph?.initializer ?? [])];
  for (const n of raw.graph?.node ?? []) for (const a of n.attribute ?? []) if (a.t) out.push(a.t);
  return out;
};
const pickOf = (xs: readonly Raw[], pick: (n: number) => number): Raw =>
  xs.length === 0 ? undefined : xs[pick(xs.length)];

const MUTATIONS: Record<string, Mutation> = {
  'wrong initializer dims': (raw, pick) => {
    const t = pickOf(tensors(raw), pick);
    if (!t) return;
    const dims: number[] = t.dims ?? [];
    if (dims.length === 0 || pick(3) === 0) t.dims = [...dims, 1 + pick(3)];
    else dims[pick(dims.length)] = [0, 1, 2, 3, 7][pick(5)]! + (dims[0] ?? 0);
  },
  'negative or huge dims': (raw, pick) => {
    const t = pickOf(tensors(raw), pick);
    if (!t) return;
    t.dims = [...(t.dims ?? [1])];
    t.dims[pick(t.dims.length)] = HUGE[pick(HUGE.length)];
  },
  'huge graph input shape': (raw, pick) => {
    const i = pickOf(raw.graph?.input ?? [], pick);
    const dims: Raw[] | undefined = i?.type?.tensor_type?.shape?.dim;
    if (!dims || dims.length === 0) return;
    const d = dims[pick(dims.length)]!;
    delete d['dim_param'];
    d['dim_value'] = HUGE[pick(HUGE.length)];
  },
  'wrong initializer size (raw_data cut)': (raw, pick) => {
    const t = pickOf(
      tensors(raw).filter((x) => x.raw_data?.length),
      pick,
    );
    if (t) t.raw_data = t.raw_data.subarray(0, pick(t.raw_data.length));
  },
  'unknown data type': (raw, pick) => {
    const t = pickOf(tensors(raw), pick);
    if (t) t.data_type = [0, 8, 14, 15, 16, 17, 99, -5][pick(8)];
  },
  'unknown input elem type': (raw, pick) => {
    const i = pickOf(raw.graph?.input ?? [], pick);
    if (i?.type?.tensor_type) i.type.tensor_type.elem_type = [0, 2, 7, 8, 16, 99][pick(6)];
  },
  'dangling input': (raw, pick) => {
    const n = pickOf(raw.graph?.node ?? [], pick);
    if (n?.input?.length) n.input[pick(n.input.length)] = 'nowhere';
  },
  cycle: (raw, pick) => {
    const nodes: Raw[] = raw.graph?.node ?? [];
    if (nodes.length < 2) return;
    const a = pick(nodes.length - 1);
    const b = a + 1 + pick(nodes.length - a - 1);
    // An earlier node reads a later node's output (and, half the time, the later one reads back).
    if (nodes[a]!.input?.length && nodes[b]!.output?.length) nodes[a]!.input[0] = nodes[b]!.output[0];
    if (pick(2) === 0 && nodes[b]!.input?.length && nodes[a]!.output?.length) nodes[b]!.input[0] = nodes[a]!.output[0];
  },
  'self loop': (raw, pick) => {
    const n = pickOf(raw.graph?.node ?? [], pick);
    if (n?.input?.length && n.output?.length) n.input[0] = n.output[0];
  },
  'nodes reordered': (raw, pick) => {
    const nodes: Raw[] = raw.graph?.node ?? [];
    if (nodes.length < 2) return;
    const i = pick(nodes.length);
    const j = pick(nodes.length);
    [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
  },
  'missing attribute': (raw, pick) => {
    const n = pickOf(
      (raw.graph?.node ?? []).filter((x: Raw) => x.attribute?.length),
      pick,
    );
    if (n) n.attribute.splice(pick(n.attribute.length), 1);
  },
  'attribute extremes': (raw, pick) => {
    const n = pickOf(
      (raw.graph?.node ?? []).filter((x: Raw) => x.attribute?.length),
      pick,
    );
    const a = n && pickOf(n.attribute as Raw[], pick);
    if (!a) return;
    const v = [0, -1, -(2 ** 31), 2 ** 31 - 1, 100000, 3][pick(6)]!;
    if (a.ints?.length) a.ints = a.ints.map((x: number) => (pick(2) === 0 ? v : x));
    else if (a.i !== undefined) a.i = v;
    else if (a.f !== undefined) a.f = [Number.NaN, Number.POSITIVE_INFINITY, 0, -1][pick(4)];
    else if (a.s !== undefined) a.s = new TextEncoder().encode(['', 'SAME_UPPER', 'VALID', 'bogus'][pick(4)]!);
  },
  'mistyped attribute': (raw, pick) => {
    const n = pickOf(
      (raw.graph?.node ?? []).filter((x: Raw) => x.attribute?.length),
      pick,
    );
    const a = n && pickOf(n.attribute as Raw[], pick);
    if (a) a.type = [1, 2, 3, 6, 7, 11, 13, 0][pick(8)];
  },
  'missing output / no inputs': (raw, pick) => {
    if (pick(2) === 0) raw.graph.output = [{ name: 'ghost' }];
    else raw.graph.input = [];
  },
  'op type changed': (raw, pick) => {
    const n = pickOf(raw.graph?.node ?? [], pick);
    if (n)
      n.op_type = [
        'Conv',
        'Gemm',
        'MatMul',
        'Add',
        'Relu',
        'QuantizeLinear',
        'DequantizeLinear',
        'QLinearConv',
        'MaxPool',
        'Reshape',
        'Concat',
        'Softmax',
        'Loop',
        'If',
        '',
      ][pick(15)];
  },
  // Quantized: scales, zero points, per-channel lengths.
  'bad scale': (raw, pick) => {
    const t = pickOf(
      tensors(raw).filter((x: Raw) => x.data_type === 1 && /scale/i.test(x.name ?? '')),
      pick,
    );
    if (!t) return;
    const s = SCALES[pick(SCALES.length)]!;
    const n = (t.dims ?? []).reduce((a: number, b: number) => a * b, 1);
    const f = new Float32Array(n).fill(1);
    f[pick(n)] = s;
    t.raw_data = new Uint8Array(f.buffer);
    delete t.float_data;
  },
  'zero point out of range': (raw, pick) => {
    const t = pickOf(
      tensors(raw).filter((x: Raw) => /zero_point|zp/i.test(x.name ?? '')),
      pick,
    );
    if (!t) return;
    const n = (t.dims ?? []).reduce((a: number, b: number) => a * b, 1);
    // As int32 data the value is out of the 8-bit range; the type says int32, uint16 or int8.
    t.data_type = [6, 4, 3, 2][pick(4)];
    const width = { 6: 4, 4: 2, 3: 1, 2: 1 }[t.data_type as 6 | 4 | 3 | 2];
    const buf = new DataView(new ArrayBuffer(n * width));
    for (let i = 0; i < n; i++) {
      const z = ZPS[pick(ZPS.length)]!;
      if (width === 4) buf.setInt32(i * 4, z, true);
      else if (width === 2) buf.setUint16(i * 2, z & 0xffff, true);
      else buf.setUint8(i, z & 0xff);
    }
    t.raw_data = new Uint8Array(buf.buffer);
    delete t.int32_data;
  },
  'per-channel length mismatch': (raw, pick) => {
    const t = pickOf(
      tensors(raw).filter((x: Raw) => /scale|zero_point|zp/i.test(x.name ?? '')),
      pick,
    );
    if (!t) return;
    const len = [0, 1, 2, 3, 5, 17][pick(6)]!;
    const w = t.data_type === 1 || t.data_type === 6 ? 4 : 1;
    t.dims = [len];
    t.raw_data = new Uint8Array(len * w).fill(t.data_type === 1 ? 0x3f : 1);
    if (t.data_type === 1) for (let i = 0; i < len; i++) t.raw_data.set([0, 0, 0x80, 0x3f], i * 4);
    delete t.float_data;
    delete t.int32_data;
  },
};

describe('fuzz: loadModel', () => {
  test('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        async (b) => void (await outcome('random bytes', b)),
      ),
      { ...FUZZ, numRuns: 600 },
    );
  });

  test('truncations and byte flips of every fixture', async () => {
    const names = [...bytesOf.keys()];
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: names.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }),
        async (which, frac, flips) => {
          const full = bytesOf.get(names[which]!)!;
          const b = full.slice(0, Math.max(1, Math.floor(full.length * frac)));
          for (const [at, v] of flips) b[at % b.length] = v;
          await outcome('truncate/flip', b);
        },
      ),
      { ...FUZZ, numRuns: 300 },
    );
  });

  for (const [kind, files] of [
    ['float', FLOAT],
    ['quantized', QUANT],
  ] as const) {
    test(`structured mutations of the ${kind} fixtures`, async () => {
      const names = Object.keys(MUTATIONS);
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: files.length - 1 }),
          fc.array(fc.nat({ max: names.length - 1 }), { minLength: 1, maxLength: 3 }),
          fc.array(fc.nat({ max: 1 << 20 }), { minLength: 16, maxLength: 16 }),
          async (which, muts, seeds) => {
            const raw = toRaw(bytesOf.get(files[which]!)!);
            let k = 0;
            const pick = (n: number): number => (n <= 0 ? 0 : seeds[k++ % seeds.length]! % n);
            for (const m of muts) MUTATIONS[names[m]!]!(raw, pick);
            let bytes: Uint8Array;
            try {
              bytes = fromRaw(raw);
            } catch {
              return; // not encodable: protobufjs refuses before quint sees it
            }
            await outcome(`mutated ${kind}: ${names[muts[0]!]}`, bytes);
          },
        ),
        { ...FUZZ, numRuns: kind === 'float' ? 350 : 350, interruptAfterTimeLimit: 9000 },
      );
    });
  }

  test('fuzz cases run per target; no case slow enough to be a hang', () => {
    console.info(
      `hard-fuzz (onnx) cases: ${JSON.stringify(counts)}\noutcomes: ${JSON.stringify(codes)}\nslowest case: ${slowest.toFixed(0)} ms`,
    );
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(800);
    expect(slowest).toBeLessThan(10_000);
  });
});
