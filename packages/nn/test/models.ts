// TS ports of the Python models in tools/goldens/nn_*.py, written the way a user would.
import type { Tensor } from '@quint/tensor';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  DeQuantStub,
  Dropout,
  Flatten,
  FloatFunctional,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  Identity,
  Linear,
  MaxPool2d,
  Module,
  QuantStub,
  ReLU,
  ReLU6,
  Sequential,
  Sigmoid,
  Tanh,
} from '../src/index.js';

/** The seed program's model. */
export class M extends Module {
  quant = new QuantStub();
  conv = new Conv2d(1, 1, 1);
  relu = new ReLU();
  dequant = new DeQuantStub();

  forward(x: Tensor): Tensor {
    return this.dequant.call(this.relu.call(this.conv.call(this.quant.call(x))));
  }
}

export class Block extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU({ inplace: true });
  skipAdd = new FloatFunctional();

  constructor(c: number) {
    super();
    this.conv1 = new Conv2d(c, c, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(c);
  }

  forward(x: Tensor): Tensor {
    return this.skipAdd.add(x, this.relu.call(this.bn1.call(this.conv1.call(x))));
  }
}

export class Net extends Module {
  quant = new QuantStub();
  stem = new Sequential(new Conv2d(3, 4, 3, { stride: 2, padding: 1 }), new BatchNorm2d(4), new ReLU());
  layer1 = new Sequential(new Block(4), new Block(4));
  pool = new AdaptiveAvgPool2d(1);
  flatten = new Flatten();
  fc = new Linear(4, 10);
  dequant = new DeQuantStub();

  forward(x: Tensor): Tensor {
    let y = this.quant.call(x);
    y = this.layer1.call(this.stem.call(y)) as Tensor;
    return this.dequant.call(this.fc.call(this.flatten.call(this.pool.call(y))));
  }
}

export function allLayers(): Sequential {
  return new Sequential(
    new Conv2d(3, 8, 3, { padding: 1, bias: false }),
    new BatchNorm2d(8),
    new ReLU({ inplace: true }),
    new MaxPool2d(2),
    new Conv2d(8, 16, [3, 1], { stride: [2, 1], padding: [0, 1], dilation: 2, groups: 2 }),
    new ReLU6(),
    new Hardtanh(),
    new Hardtanh({ minVal: -2.5, maxVal: 2.5, inplace: true }),
    new Hardswish(),
    new Hardsigmoid(),
    new Sigmoid(),
    new Tanh(),
    new AvgPool2d(2),
    new AvgPool2d([2, 3], { stride: 1, padding: 1 }),
    new MaxPool2d([3, 3], { stride: [1, 2], padding: 1, dilation: 1, ceilMode: true }),
    new AdaptiveAvgPool2d(1),
    new AdaptiveAvgPool2d([null, 7]),
    new AdaptiveAvgPool2d([2, 3]),
    new Flatten(),
    new Flatten(0, 2),
    new Dropout(0.2),
    new Dropout(),
    new Linear(16, 4),
    new Linear(4, 2, { bias: false }),
    new Identity(),
    new BatchNorm2d(4, { eps: 1e-3, momentum: 0.01, affine: false }),
    new Conv2d(4, 4, 1, { padding: 'same' }),
    new Conv2d(4, 4, 3, { padding: 'valid' }),
  );
}
