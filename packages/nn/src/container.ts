import { QuantError } from '@quint/tensor';
import { BUILTIN, Module, type ObserverLike } from './module.js';

/**
 * Runs its children in order, each on the previous one's output (`torch.nn.Sequential`). Children
 * are named `'0'`, `'1'`, …, or by the keys of an object (PyTorch's `OrderedDict` form).
 *
 * @example
 * const net = new Sequential(new Conv2d(1, 4, 3), new ReLU());
 * const named = new Sequential({ conv: new Conv2d(1, 4, 3), relu: new ReLU() });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Sequential.html
 */
export class Sequential extends Module {
  static readonly [BUILTIN] = true;

  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first !== undefined && !(first instanceof Module)) {
      for (const [name, m] of Object.entries(first)) this.addModule(name, m);
    } else {
      (modules as Module[]).forEach((m, i) => this.addModule(String(i), m));
    }
  }

  /** Number of children. */
  get length(): number {
    return this.children().length;
  }

  /**
   * The child at `index` (negative counts from the end), as `seq[i]`.
   *
   * @throws `OUT_OF_RANGE` when there is no such child.
   * @example
   * net.get(-1);
   */
  get(index: number): Module {
    const cs = this.children();
    const i = index < 0 ? index + cs.length : index;
    const m = cs[i];
    if (m === undefined || !Number.isInteger(i)) {
      throw new QuantError(
        'OUT_OF_RANGE',
        `Sequential.get: index ${index} is out of range for ${cs.length} modules; use -${cs.length}..${cs.length - 1}.`,
      );
    }
    return m;
  }

  /** Appends a module named by the next index. @example net.append(new ReLU()) */
  append(module: Module | ObserverLike): this {
    this.addModule(String(this.length), module);
    return this;
  }

  // `any`: a Sequential carries Tensors before conversion and QTensors after, as in PyTorch.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(input: any): any {
    let x: unknown = input;
    for (const m of this.children()) x = (m.call as (...a: unknown[]) => unknown).call(m, x);
    return x;
  }
}
