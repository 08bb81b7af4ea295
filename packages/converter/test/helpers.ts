// Golden loading and model definitions shared by the converter tests.
import { readFileSync } from 'node:fs';
import { Tensor } from '@quint/tensor';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  DeQuantStub,
  Flatten,
  FloatFunctional,
  Linear,
  MaxPool2d,
  Module,
  QuantStub,
  ReLU,
} from '@quint/nn';

/** A tensor as tools/goldens stores it: shape, dtype, base64 little-endian bytes. */
export interface Encoded {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int8' | 'uint8' | 'int32';
  readonly b64: string;
}

export function bytesOf(e: Encoded): Float32Array | Int8Array | Uint8Array | Int32Array {
  const buf = Buffer.from(e.b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  switch (e.dtype) {
    case 'float32':
      return new Float32Array(ab);
    case 'int8':
      return new Int8Array(ab);
    case 'uint8':
      return new Uint8Array(ab);
    case 'int32':
      return new Int32Array(ab);
  }
}

export function decode(e: Encoded): Tensor {
  return new Tensor(Float32Array.from(bytesOf(e)), e.shape);
}

export function stateDictOf(sd: Record<string, Encoded>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, decode(v)]));
}

export function loadGolden<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./goldens/${name}`, import.meta.url), 'utf8')) as T;
}

/** Indices where two float arrays differ in bits. */
export function bitDiffs(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

/** The seed program's model: QuantStub → Conv2d(1, 1, 1) → ReLU → DeQuantStub. */
export class M extends Module {
  quant = new QuantStub();
  conv = new Conv2d(1, 1, 1);
  relu = new ReLU();
  dequant = new DeQuantStub();
  forward(x: Tensor): Tensor {
    return this.dequant.call(this.relu.call(this.conv.call(this.quant.call(x))));
  }
}

/** The small CNN of tools/goldens/converter_eager.py, layer for layer. */
export class SmallCNN extends Module {
  quant = new QuantStub();
  conv1 = new Conv2d(1, 8, 3, { padding: 1 });
  bn1 = new BatchNorm2d(8);
  relu1 = new ReLU();
  conv2 = new Conv2d(8, 8, 3, { padding: 1 });
  relu2 = new ReLU();
  skip = new FloatFunctional();
  pool = new MaxPool2d(2);
  avgpool = new AdaptiveAvgPool2d(1);
  flatten = new Flatten();
  fc = new Linear(8, 10);
  dequant = new DeQuantStub();
  forward(input: Tensor): Tensor {
    let x = this.quant.call(input);
    x = this.relu1.call(this.bn1.call(this.conv1.call(x)));
    const y = this.relu2.call(this.conv2.call(x));
    x = this.skip.add(x, y);
    x = this.pool.call(x);
    x = this.avgpool.call(x);
    x = this.flatten.call(x);
    x = this.fc.call(x);
    return this.dequant.call(x);
  }
}
