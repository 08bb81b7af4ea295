// Weight initialisation as PyTorch's `reset_parameters` (bounds only; the stream is our seeded
// Generator, not torch's, so values differ: tests load torch's weights with loadStateDict).
import { type Generator, Tensor } from '@quint/tensor';

/**
 * `kaiming_uniform_(w, a=√5)` as Conv/Linear use it: `U(−1/√fanIn, 1/√fanIn)`
 * (gain √(2/(1+5)) times √(3/fanIn)). The bias uses the same bound.
 */
export function uniformTensor(shape: readonly number[], bound: number, g: Generator): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (2 * g.uniform() - 1) * bound;
  return new Tensor(data, shape);
}
