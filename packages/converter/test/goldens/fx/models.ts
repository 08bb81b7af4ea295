// The models of tools/goldens/converter_fx.py, layer for layer, and the golden file's types.
import { readFileSync } from 'node:fs';
import { add, cat, flatten, Tensor } from '@quint/tensor';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  DeQuantStub,
  Flatten,
  Hardswish,
  Linear,
  MaxPool2d,
  Module,
  QuantStub,
  ReLU,
  ReLU6,
  Sigmoid,
} from '@quint/nn';

export class MLP extends Module {
  fc1 = new Linear(16, 32);
  relu = new ReLU();
  fc2 = new Linear(32, 8);
  sigmoid = new Sigmoid();
  forward(x: Tensor): Tensor {
    return this.sigmoid.call(this.fc2.call(this.relu.call(this.fc1.call(x))));
  }
}

export class CNN extends Module {
  conv1 = new Conv2d(3, 8, 3, { padding: 1 });
  bn1 = new BatchNorm2d(8);
  relu1 = new ReLU();
  pool = new MaxPool2d(2);
  conv2 = new Conv2d(8, 8, 3, { padding: 1 });
  bn2 = new BatchNorm2d(8);
  relu2 = new ReLU();
  conv3 = new Conv2d(8, 8, 1);
  avgpool = new AdaptiveAvgPool2d(1);
  fc = new Linear(8, 10);
  forward(x: Tensor): Tensor {
    let h = this.pool.call(this.relu1.call(this.bn1.call(this.conv1.call(x))));
    const y = this.conv3.call(this.relu2.call(this.bn2.call(this.conv2.call(h))));
    h = add(h, y);
    h = this.avgpool.call(h);
    h = flatten(h, 1);
    return this.fc.call(h);
  }
}

export class DWSep extends Module {
  stem = new Conv2d(3, 8, 3, { stride: 2, padding: 1 });
  stembn = new BatchNorm2d(8);
  stemrelu = new ReLU();
  dw = new Conv2d(8, 8, 3, { padding: 1, groups: 8 });
  dwbn = new BatchNorm2d(8);
  dwrelu = new ReLU6();
  pw = new Conv2d(8, 16, 1);
  pwbn = new BatchNorm2d(16);
  pwrelu = new ReLU();
  avgpool = new AdaptiveAvgPool2d(1);
  fc = new Linear(16, 10);
  forward(x: Tensor): Tensor {
    let h = this.stemrelu.call(this.stembn.call(this.stem.call(x)));
    h = this.dwrelu.call(this.dwbn.call(this.dw.call(h)));
    h = this.pwrelu.call(this.pwbn.call(this.pw.call(h)));
    h = this.avgpool.call(h);
    h = flatten(h, 1);
    return this.fc.call(h);
  }
}

export class CatHardswish extends Module {
  conv1 = new Conv2d(3, 8, 3, { padding: 1 });
  hs = new Hardswish();
  conv2 = new Conv2d(3, 8, 1);
  relu = new ReLU();
  conv3 = new Conv2d(16, 8, 3, { padding: 1 });
  avgpool = new AdaptiveAvgPool2d(1);
  fc = new Linear(8, 4);
  forward(x: Tensor): Tensor {
    const a = this.hs.call(this.conv1.call(x));
    const b = this.relu.call(this.conv2.call(x));
    const c = cat([a, b], 1);
    const d = this.avgpool.call(this.conv3.call(c));
    return this.fc.call(flatten(d, 1));
  }
}

/** conv-bn-relu, conv-relu, flatten, linear: eager and FX place the same observers. */
export class PlainCNN extends Module {
  quant = new QuantStub();
  conv1 = new Conv2d(1, 4, 3, { padding: 1 });
  bn1 = new BatchNorm2d(4);
  relu1 = new ReLU();
  conv2 = new Conv2d(4, 4, 3, { stride: 2 });
  relu2 = new ReLU();
  flatten = new Flatten();
  fc = new Linear(36, 5);
  dequant = new DeQuantStub();
  forward(input: Tensor): Tensor {
    const x = this.quant.call(input);
    const y = this.relu2.call(this.conv2.call(this.relu1.call(this.bn1.call(this.conv1.call(x)))));
    return this.dequant.call(this.fc.call(this.flatten.call(y)));
  }
}

export interface Encoded {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int8' | 'uint8' | 'int32';
  readonly b64: string;
}
export interface GoldenQparams {
  readonly qscheme: string;
  readonly scale?: number;
  readonly zeroPoint?: number;
  readonly scales?: number[];
  readonly zeroPoints?: number[];
  readonly axis?: number;
}
export interface GoldenNode {
  readonly op: string;
  readonly name: string;
  readonly target: string;
  readonly args: string;
  readonly users: number;
}
export interface GoldenEngine {
  readonly graph: string;
  readonly code: string;
  readonly nodes: GoldenNode[];
  readonly attrs: Record<string, number>;
  readonly modules: Record<string, { type: string; weight?: Encoded; weightQparams?: GoldenQparams; bias?: Encoded | null; scale?: number; zeroPoint?: number }>;
  readonly values: Record<string, { codes: Encoded; qparams: GoldenQparams }>;
  readonly output: Encoded;
  readonly ns: { readonly sqnr: number; readonly l2: number; readonly cosine: number };
}
export interface GoldenCase {
  readonly name: string;
  readonly preset: 'qnnpack' | 'fbgemm';
  readonly floatStateDict: Record<string, Encoded>;
  readonly calibration: Encoded[];
  readonly test: Encoded;
  readonly observedGraph: string;
  readonly observedNodes: GoldenNode[];
  readonly observers: Record<string, { class: string; sharedWith: string; state: Record<string, Encoded>; scale: number[]; zeroPoint: number[] }>;
  readonly referenceGraph: string;
  readonly referenceOutput: Encoded;
  readonly floatOutput: Encoded;
  readonly engines: Record<'qnnpack' | 'onednn', GoldenEngine>;
}
export interface Golden {
  readonly torchPackage: string;
  readonly seed: number;
  readonly eagerEqualsFx: Record<string, Record<string, boolean>>;
  readonly cases: GoldenCase[];
}

export const MODELS: Record<string, () => Module> = {
  mlp: () => new MLP(),
  cnn: () => new CNN(),
  dwsep: () => new DWSep(),
  'cat-hardswish': () => new CatHardswish(),
};

let cached: Golden | undefined;
export function loadFxGolden(): Golden {
  cached ??= JSON.parse(readFileSync(new URL('./converter_fx.json', import.meta.url), 'utf8')) as Golden;
  return cached;
}

export function bytesOf(e: Encoded): Float32Array | Int8Array | Uint8Array | Int32Array {
  const buf = Buffer.from(e.b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (e.dtype === 'float32') return new Float32Array(ab);
  if (e.dtype === 'int8') return new Int8Array(ab);
  if (e.dtype === 'uint8') return new Uint8Array(ab);
  return new Int32Array(ab);
}

export function decode(e: Encoded): Tensor {
  return new Tensor(Float32Array.from(bytesOf(e)), e.shape);
}

/** A model of `name` with the golden's float weights and BN statistics. */
export function floatModel(c: GoldenCase): Module {
  const m = MODELS[c.name]!().eval();
  m.loadStateDict(Object.fromEntries(Object.entries(c.floatStateDict).map(([k, v]) => [k, decode(v)])));
  return m;
}
