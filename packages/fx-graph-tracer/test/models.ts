// The models of tools/goldens/fx_trace.py, written as quint users write them.
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  DeQuantStub,
  FloatFunctional,
  Linear,
  MaxPool2d,
  Module,
  QuantStub,
  ReLU,
} from '@quint/nn';
import { add, cat, flatten, mul, relu, type Tensor } from '@quint/tensor';

export class Seed extends Module {
  quant = new QuantStub();
  conv = new Conv2d(1, 4, 3);
  relu = new ReLU();
  dequant = new DeQuantStub();

  forward(x: Tensor): Tensor {
    x = this.quant.call(x);
    x = this.conv.call(x);
    x = this.relu.call(x);
    return this.dequant.call(x);
  }
}

export class Mlp extends Module {
  fc1 = new Linear(16, 8);
  relu = new ReLU();
  fc2 = new Linear(8, 4);

  forward(x: Tensor): Tensor {
    x = flatten(x, 1);
    x = this.relu.call(this.fc1.call(x));
    return this.fc2.call(x);
  }
}

export class Block extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  relu = new ReLU();

  constructor(c: number) {
    super();
    this.conv = new Conv2d(c, c, 3, { padding: 1 });
    this.bn = new BatchNorm2d(c);
  }

  forward(x: Tensor): Tensor {
    return this.relu.call(this.bn.call(this.conv.call(x)));
  }
}

/** conv-bn-relu, a residual add (functional), maxpool, adaptive avgpool, flatten, linear. */
export class ResidualAdd extends Module {
  conv1 = new Conv2d(1, 4, 3, { padding: 1 });
  bn1 = new BatchNorm2d(4);
  relu1 = new ReLU();
  block = new Block(4);
  pool = new MaxPool2d(2);
  avgpool = new AdaptiveAvgPool2d(1);
  fc = new Linear(4, 3);

  forward(x: Tensor): Tensor {
    x = this.relu1.call(this.bn1.call(this.conv1.call(x)));
    const y = this.block.call(x);
    x = add(x, y);
    x = this.pool.call(x);
    x = this.avgpool.call(x);
    x = flatten(x, 1);
    return this.fc.call(x);
  }
}

export class ResidualFloatFunctional extends Module {
  conv1 = new Conv2d(1, 4, 3, { padding: 1 });
  relu1 = new ReLU();
  conv2 = new Conv2d(4, 4, 3, { padding: 1 });
  skipAdd = new FloatFunctional();
  relu2 = new ReLU();

  forward(x: Tensor): Tensor {
    x = this.relu1.call(this.conv1.call(x));
    const y = this.conv2.call(x);
    x = this.skipAdd.add(x, y);
    return this.relu2.call(x);
  }
}

export class ViewFlatten extends Module {
  conv = new Conv2d(1, 2, 3);
  fc = new Linear(8, 2);

  forward(x: Tensor): Tensor {
    x = this.conv.call(x);
    x = x.view([x.size(0), -1]);
    return this.fc.call(x);
  }
}

export class Cat extends Module {
  convA = new Conv2d(1, 2, 1);
  convB = new Conv2d(1, 2, 1);
  relu = new ReLU();

  forward(x: Tensor): Tensor {
    const a = this.convA.call(x);
    const b = this.convB.call(x);
    const y = cat([a, b], 1);
    return relu(y);
  }
}

export class Functional extends Module {
  conv = new Conv2d(1, 1, 1);

  forward(x: Tensor): Tensor {
    const a = relu(this.conv.call(x));
    const b = relu(x);
    const c = add(a, b);
    const d = mul(c, a);
    return add(d, 1.0);
  }
}
