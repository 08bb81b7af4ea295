import { isQuantError, tensor, type Tensor } from '@quint/tensor';
import { expect, test } from 'vitest';
import { FloatFunctional, Identity, Module } from '../src/index.js';

test('FloatFunctional ops compute as the float ops; observed ones go through activationPostProcess', () => {
  const ff = new FloatFunctional();
  const seen: number[][] = [];
  class Spy extends Identity {
    override forward(x: Tensor): Tensor {
      seen.push(x.toArray());
      return x;
    }
  }
  ff.activationPostProcess = new Spy();
  const a = tensor([1, -2]);
  const b = tensor([3, 1]);
  expect(ff.add(a, b).toArray()).toEqual([4, -1]);
  expect(ff.mul(a, b).toArray()).toEqual([3, -2]);
  expect(ff.addRelu(a, b).toArray()).toEqual([4, 0]);
  expect(ff.cat([a, b], 0).toArray()).toEqual([1, -2, 3, 1]);
  expect(ff.addScalar(a, 0.5).toArray()).toEqual([1.5, -1.5]);
  expect(ff.mulScalar(a, 2).toArray()).toEqual([2, -4]);
  // addScalar and mulScalar are not observed (as PyTorch).
  expect(seen).toEqual([
    [4, -1],
    [3, -2],
    [4, 0],
    [1, -2, 3, 1],
  ]);
});

test('FloatFunctional.forward is not meant to be called', () => {
  class Holder extends Module {
    skipAdd = new FloatFunctional();
    forward(): unknown {
      return this.skipAdd.call();
    }
  }
  try {
    new Holder().call();
    expect.unreachable();
  } catch (e) {
    expect(isQuantError(e) && e.code).toBe('UNSUPPORTED_OP');
    expect((e as Error).message).toBe(
      "FloatFunctional 'skip_add' is not intended to use 'forward'; call its operations (add, mul, cat, addRelu, addScalar, mulScalar).",
    );
  }
});
