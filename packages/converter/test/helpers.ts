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

/**
 * PyTorch 1.13's onednn conv on a CPU without VNNI (the golden machine: AVX2 only): `vpmaddubsw`
 * adds each pair of u8·s8 products of adjacent input channels in saturating int16 (spec §11.3,
 * §5.2c "saturation caveat"), then requantizes as onednn (§5.2b). Input zero point 0 only (the
 * input is a ReLU output here), per-tensor weights, stride 1, square padding. Returns the output
 * codes and the number of accumulators that saturation changed.
 */
export function onednnConvWithoutVnni(
  args: {
    x: Uint8Array;
    xShape: readonly number[];
    xScale: number;
    w: Int8Array;
    wShape: readonly number[];
    wScale: number;
    bias: Float32Array;
    outScale: number;
    outZeroPoint: number;
    padding: number;
    relu: boolean;
  },
  q: {
    onednnScales(x: number, w: number, o: number): { biasScale: number; outputScale: number };
    onednnBias(b: number, bs: number): number;
    onednnPreRound(a: { acc: number; biasTerm: number; outputScale: number; zeroPoint: number; relu: boolean }): number;
    onednnOutputCode(v: number, r: { lo: number; hi: number }): number;
  },
): { codes: Uint8Array; saturated: number } {
  const [n, c, h, wd] = args.xShape as [number, number, number, number];
  const [o, , kh, kw] = args.wShape as [number, number, number, number];
  const p = args.padding;
  const oh = h + 2 * p - kh + 1;
  const ow = wd + 2 * p - kw + 1;
  const { biasScale, outputScale } = q.onednnScales(args.xScale, args.wScale, args.outScale);
  const codes = new Uint8Array(n * o * oh * ow);
  let saturated = 0;
  const xAt = (b: number, ch: number, y: number, x: number): number =>
    y < 0 || y >= h || x < 0 || x >= wd ? 0 : args.x[((b * c + ch) * h + y) * wd + x]!;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++) {
          let exact = 0;
          let sat = 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++)
              for (let ch = 0; ch < c; ch += 2) {
                let pair = 0;
                for (const cc of [ch, ch + 1]) {
                  if (cc >= c) continue;
                  pair += xAt(b, cc, y + i - p, x + j - p) * args.w[((oc * c + cc) * kh + i) * kw + j]!;
                }
                exact += pair;
                sat += Math.min(32767, Math.max(-32768, pair));
              }
          if (sat !== exact) saturated++;
          const v = q.onednnPreRound({
            acc: sat,
            biasTerm: q.onednnBias(args.bias[oc]!, biasScale),
            outputScale,
            zeroPoint: args.outZeroPoint,
            relu: args.relu,
          });
          codes[((b * o + oc) * oh + y) * ow + x] = q.onednnOutputCode(v, { lo: 0, hi: 255 });
        }
  return { codes, saturated };
}
