// Quantized models: imported QDQ / QOperator / dynamic-quantization files run on engine 'ort' with
// the outputs ONNX Runtime computes; exports of those graphs (QDQ and QOperator) run in ONNX Runtime
// with identical outputs; export → import gives the same integers.
//
// Peers: onnxruntime-web (wasm, 1 thread) computes the exact integer formula. onnxruntime-node on
// this x64 machine (AVX2, no VNNI) runs U8S8 GEMMs with VPMADDUBSW, whose int16 pair sums saturate
// when weights use all 8 bits (ORT's docs advise reduce_range there): the *-rr fixtures use 7-bit
// weights and are compared with both peers; the full-range ones are identical with wasm, and their
// agreement with the native build is reported (not promised).
import { beforeAll, describe, expect, it } from 'vitest';
import { createJsBackend } from '@quint/kernels-js';
import { nnq } from '@quint/nn';
import type { Tensor } from '@quint/tensor';
import { decodeModel, encodeModel, exportModel, importModel, QuantizedOp, type OnnxModel } from '../src/index.js';
import { diff, fixture, npyFixture, RUNTIMES, runOrt } from './helpers.js';

const backend = createJsBackend();
let x: Tensor;
beforeAll(() => {
  x = npyFixture('x.npy');
});

function load(name: string) {
  const model = decodeModel(fixture(`${name}.onnx`));
  const gm = importModel(model, { backend, engine: 'ort' });
  return { model, gm };
}

function outputs(gm: ReturnType<typeof load>['gm'], input: Tensor): Float32Array[] {
  const out = gm.call(input) as Tensor | Tensor[];
  return (Array.isArray(out) ? out : [out]).map((t) => t.toFloat32Array());
}

async function ortOutputs(
  ort: (typeof RUNTIMES)[number][1],
  bytes: Uint8Array,
  model: OnnxModel,
  input: Tensor,
): Promise<Float32Array[]> {
  const r = await runOrt(ort, bytes, { x: input });
  return model.graph.outputs.map((o) => r[o.name]!.data as Float32Array);
}

const EXACT_BOTH = ['qdq-u8s8-rr', 'qop-cnn-rr', 'dyn-matmul-rr'];
const EXACT_WASM = ['qdq-u8s8', 'qop-cnn', 'dyn-matmul'];

describe('imported quantized models on engine ort', () => {
  it.each(EXACT_BOTH)('%s: identical to onnxruntime-node and onnxruntime-web', async (name) => {
    const { model, gm } = load(name);
    const ours = outputs(gm, x);
    for (const [, ort] of RUNTIMES) {
      const theirs = await ortOutputs(ort, fixture(`${name}.onnx`), model, x);
      theirs.forEach((t, i) => expect(diff(ours[i]!, t)).toEqual({ mismatches: 0, maxAbs: 0 }));
    }
  });

  it.each(EXACT_WASM)(
    '%s (8-bit weights): identical to onnxruntime-web; agreement with the native x64 build reported',
    async (name) => {
      const { model, gm } = load(name);
      const ours = outputs(gm, x);
      const web = await ortOutputs(RUNTIMES[1]![1], fixture(`${name}.onnx`), model, x);
      web.forEach((t, i) => expect(diff(ours[i]!, t)).toEqual({ mismatches: 0, maxAbs: 0 }));
      const native = await ortOutputs(RUNTIMES[0]![1], fixture(`${name}.onnx`), model, x);
      const d = native.map((t, i) => diff(ours[i]!, t));
      console.log(`${name} vs onnxruntime-node (AVX2 U8S8 saturation): ${JSON.stringify(d)}`);
      // Saturation moves accumulators; the outputs stay close (a few output codes), never wild.
      for (const x of d) expect(x.maxAbs).toBeLessThan(0.2);
    },
  );

  it('the ORT quantize_static QDQ form becomes nnq modules (Relu absorbed, MaxPool and Reshape on codes)', () => {
    const { gm } = load('qdq-u8s8');
    expect(gm.code).toMatchInlineSnapshot(`
      "def forward(self, x):
          input_quantize_linear = self.input_QuantizeLinear(x);  x = None
          conv1 = self.conv1(input_quantize_linear);  input_quantize_linear = None
          pool = self.pool(conv1);  conv1 = None
          conv2 = self.conv2(pool);  pool = None
          reshape = quantizedReshape(conv2, [-1, 128]);  conv2 = None
          fc = self.fc(reshape);  reshape = None
          fc_dequant = self.fc_dequant(fc);  fc = None
          return fc_dequant"
    `);
    const conv1 = gm.getSubmodule('conv1') as InstanceType<typeof nnq.Conv2d>;
    expect(conv1).toBeInstanceOf(nnq.Conv2d);
    expect(conv1.weight().qscheme()).toBe('per_channel_affine');
    expect(conv1.engine).toBe('ort');
  });

  it('S8S8 QDQ imports and runs; ONNX Runtime computes it in float, so agreement is reported', async () => {
    const { model, gm } = load('qdq-s8s8');
    const ours = outputs(gm, x);
    for (const [rt, ort] of RUNTIMES) {
      const theirs = await ortOutputs(ort, fixture('qdq-s8s8.onnx'), model, x);
      const d = diff(ours[0]!, theirs[0]!);
      const n = ours[0]!.length;
      console.log(`qdq-s8s8 vs ${rt}: ${n - d.mismatches}/${n} identical, largest difference ${d.maxAbs}`);
      expect(d.maxAbs).toBeLessThanOrEqual(8 * fcOutScale(model));
    }
  });

  it('com.microsoft QLinearAdd/Mul/Concat/AveragePool/GlobalAveragePool/Sigmoid run (backend kernel where it claims engine ort, else the reference float path; agreement reported)', async () => {
    const { model, gm } = load('qop-ms');
    const ours = outputs(gm, x);
    for (const [rt, ort] of RUNTIMES) {
      const theirs = await ortOutputs(ort, fixture('qop-ms.onnx'), model, x);
      const d = theirs.map((t, i) => diff(ours[i]!, t));
      console.log(
        `qop-ms vs ${rt}: ${model.graph.outputs.map((o, i) => `${o.name} ${ours[i]!.length - d[i]!.mismatches}/${ours[i]!.length} identical (max ${d[i]!.maxAbs})`).join('; ')}`,
      );
    }
    const add = gm.getSubmodule('QLinearAdd') as QuantizedOp;
    expect(add).toBeInstanceOf(QuantizedOp);
    expect(add.native).toBe(backend.supports('add', { engine: 'ort', dtype: 'quint8' }));
  });
});

describe('export of quantized graphs', () => {
  it.each([...EXACT_BOTH, 'qop-ms'])(
    '%s → QDQ and QOperator: ONNX Runtime gives what runModel gives; re-import gives the same integers',
    async (name) => {
      const { model, gm } = load(name);
      const ours = outputs(gm, x);
      for (const format of ['qdq', 'qoperator'] as const) {
        const bytes = encodeModel(exportModel(gm, { format }));
        const runtimes = name === 'qop-ms' ? [RUNTIMES[1]!] : RUNTIMES;
        for (const [, ort] of runtimes) {
          const theirs = await ortOutputs(ort, bytes, model, x);
          theirs.forEach((t, i) => expect(diff(ours[i]!, t)).toEqual({ mismatches: 0, maxAbs: 0 }));
        }
        const again = importModel(decodeModel(bytes), { backend, engine: 'ort' });
        outputs(again, x).forEach((t, i) => expect(diff(t, ours[i]!).mismatches).toBe(0));
        const codes = (g: typeof gm) =>
          g.graph.nodes
            .filter((n) => n.op === 'call_module' && g.getSubmodule(n.target as string) instanceof nnq.Conv2d)
            .map((n) =>
              Array.from((g.getSubmodule(n.target as string) as InstanceType<typeof nnq.Conv2d>).weight().intRepr()),
            );
        expect(codes(again)).toEqual(codes(gm));
      }
    },
  );

  it('QDQ export is the U8S8 form: uint8 activations, int8 symmetric per-channel weights, int32 bias with zero point 0', () => {
    const { gm } = load('qdq-u8s8-rr');
    const m = exportModel(gm, { format: 'qdq' });
    const init = (n: string) => m.graph.initializers.find((t) => t.name === n)!;
    expect(m.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(init('conv1.weight_quantized').dataType).toBe('int8');
    expect(Array.from(init('conv1.weight_zero_point').data as Int8Array).every((z) => z === 0)).toBe(true);
    expect(init('conv1.bias_quantized').dataType).toBe('int32');
    expect(init('conv1.bias_zero_point').dataType).toBe('int32');
    const q = m.graph.nodes
      .filter((n) => n.opType === 'QuantizeLinear')
      .map((n) => m.graph.initializers.find((t) => t.name === n.inputs[2])!.dataType);
    expect(new Set(q)).toEqual(new Set(['uint8']));
    expect(
      m.graph.nodes.map((n) => n.opType).filter((t) => t !== 'DequantizeLinear' && t !== 'QuantizeLinear'),
    ).toEqual(['Conv', 'MaxPool', 'Conv', 'Reshape', 'Gemm']);
  });
});

function fcOutScale(model: OnnxModel): number {
  return (model.graph.initializers.find((t) => t.name === 'fc_out_scale')!.data as Float32Array)[0]!;
}
