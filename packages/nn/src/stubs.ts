import type { Tensor } from '@quint/tensor';
import { BUILTIN, Module, type QConfigLike } from './module.js';

// QuantStub and DeQuantStub are the same identity module with an optional qconfig; `convert` tells
// them apart by class, so they share this base rather than one extending the other.
abstract class IdentityStub extends Module {
  constructor(qconfig?: QConfigLike | null) {
    super();
    if (qconfig !== undefined && qconfig !== null) this.qconfig = qconfig;
  }

  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * Marks where a float model's input becomes quantized (`torch.ao.quantization.QuantStub`): the
 * identity before `convert`, which swaps it for `nnq.Quantize` with the qparams its observer saw.
 * An optional `qconfig` applies to it alone.
 *
 * @example
 * class M extends Module { quant = new QuantStub(); /* … *\/ }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.QuantStub.html
 */
export class QuantStub extends IdentityStub {
  static readonly [BUILTIN] = true;
}

/**
 * Marks where a quantized model's output becomes float again
 * (`torch.ao.quantization.DeQuantStub`): the identity before `convert`, which swaps it for
 * `nnq.DeQuantize`.
 *
 * @example
 * class M extends Module { dequant = new DeQuantStub(); /* … *\/ }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.DeQuantStub.html
 */
export class DeQuantStub extends IdentityStub {
  static readonly [BUILTIN] = true;
}
