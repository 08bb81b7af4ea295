import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuantError, Tensor } from '@quint/tensor';
import {
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
  type StateDict,
} from '@quint/nn';
import { mnistAssetsDir } from './data.js';

/**
 * The demo's MNIST CNN, `MnistCnn` of `tools/mnist/train_mnist.py`, property for property (so the
 * state-dict keys are PyTorch's): conv-bn-relu-pool twice, a residual conv-bn-relu block added
 * with `skipAdd` (a `FloatFunctional`, so eager mode can observe the add), flatten, fc1-relu, fc2.
 * `quant`/`dequant` mark the quantized region for eager mode; in float they are the identity.
 *
 * @example
 * const model = loadMnistCnn(); // eval mode, trained weights
 * const logits = model.call(mnistBatch(evaluation, 0, 10));
 */
export class MnistCnn extends Module {
  quant = new QuantStub();
  conv1 = new Conv2d(1, 8, 3, { padding: 1 });
  bn1 = new BatchNorm2d(8);
  relu1 = new ReLU();
  pool1 = new MaxPool2d(2);
  conv2 = new Conv2d(8, 16, 3, { padding: 1 });
  bn2 = new BatchNorm2d(16);
  relu2 = new ReLU();
  pool2 = new MaxPool2d(2);
  conv3 = new Conv2d(16, 16, 3, { padding: 1 });
  bn3 = new BatchNorm2d(16);
  relu3 = new ReLU();
  skipAdd = new FloatFunctional();
  flatten = new Flatten();
  fc1 = new Linear(16 * 7 * 7, 32);
  relu4 = new ReLU();
  fc2 = new Linear(32, 10);
  dequant = new DeQuantStub();

  forward(x: Tensor): Tensor {
    let y = this.quant.call(x);
    y = this.pool1.call(this.relu1.call(this.bn1.call(this.conv1.call(y))));
    y = this.pool2.call(this.relu2.call(this.bn2.call(this.conv2.call(y))));
    y = this.skipAdd.add(y, this.relu3.call(this.bn3.call(this.conv3.call(y))));
    y = this.relu4.call(this.fc1.call(this.flatten.call(y)));
    return this.dequant.call(this.fc2.call(y));
  }
}

/** The modules eager mode fuses (PyTorch's `fuse_modules` list, as `meta.json`'s `eagerFuse`). */
export const MNIST_EAGER_FUSE: readonly (readonly string[])[] = [
  ['conv1', 'bn1', 'relu1'],
  ['conv2', 'bn2', 'relu2'],
  ['conv3', 'bn3', 'relu3'],
  ['fc1', 'relu4'],
];

interface EncodedTensor {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int64';
  readonly b64: string;
}

/**
 * Reads `mnist-cnn.weights.json` (`{ key: { shape, dtype, b64 } }`, little-endian, written by the
 * training script from PyTorch's `state_dict()`) into a {@link StateDict}: float32 values exact;
 * `num_batches_tracked` (int64) as a one-element float tensor, as `@quint/nn` keeps it.
 *
 * @throws `IO_ERROR` when the file cannot be read; `BAD_DTYPE` for other dtypes.
 */
export function readMnistStateDict(path = join(mnistAssetsDir(), 'mnist-cnn.weights.json')): StateDict {
  let json: Record<string, EncodedTensor>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, EncodedTensor>;
  } catch (e) {
    throw new QuantError(
      'IO_ERROR',
      `cannot read MNIST weights ${path}: ${(e as Error).message}. Regenerate with /usr/bin/python3 tools/mnist/train_mnist.py.`,
      { cause: e },
    );
  }
  const out: StateDict = {};
  for (const [key, e] of Object.entries(json)) {
    const buf = Buffer.from(e.b64, 'base64');
    // Copy into a fresh, aligned buffer: Buffer's byteOffset may not be a multiple of 4 or 8.
    const bytes = new Uint8Array(buf);
    let data: Float32Array;
    if (e.dtype === 'float32') data = new Float32Array(bytes.buffer);
    else if (e.dtype === 'int64') data = Float32Array.from(new BigInt64Array(bytes.buffer), (v) => Number(v));
    else
      throw new QuantError(
        'BAD_DTYPE',
        `MNIST weights ${path}: key ${key} has dtype ${String(e.dtype)}; expected float32 or int64.`,
      );
    out[key] = new Tensor(data, e.shape);
  }
  return out;
}

/**
 * The trained float model, in eval mode, with the committed weights loaded (strict).
 *
 * @example
 * const model = loadMnistCnn();
 */
export function loadMnistCnn(stateDict: StateDict = readMnistStateDict()): MnistCnn {
  const model = new MnistCnn();
  model.loadStateDict(stateDict);
  return model.eval();
}
