// The call_function targets of converted graphs: torch.quantize_per_tensor, torch.ops.quantized.*,
// and the float ops PyTorch runs directly on quantized tensors after lowering (torch.cat,
// torch.flatten, F.relu, F.max_pool2d, …). Each is bound to one backend and engine at convert
// time. Quantized work goes through @quint/nn's modules, which track the memory format PyTorch's
// quantized tensors would have (spec §11.3: conv outputs are channels_last, some kernels round
// differently on that layout).
import { QuantError, type Tensor } from '@quint/tensor';
import type { Engine, QDtype, QTensor, QuantizedBackend } from '@quint/qtensor';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Flatten,
  Hardsigmoid,
  Hardtanh,
  MaxPool2d,
  ReLU,
  ReLU6,
  Sigmoid,
  Tanh,
  nnq,
  setQuantizedBackend,
  type Module,
} from '@quint/nn';

/** A call_function target of a converted graph; `opName` is what the graph printout shows. */
export type QuantizedOpTarget = ((...args: never[]) => unknown) & { readonly opName: string };

function named<F extends (...args: never[]) => unknown>(opName: string, fn: F): F & { readonly opName: string } {
  Object.defineProperty(fn, 'opName', { value: opName });
  Object.defineProperty(fn, 'name', { value: opName });
  return fn as F & { readonly opName: string };
}

function isQ(x: unknown): x is QTensor {
  return nnq.isQTensor(x);
}

/** The runtime of a converted graph for one backend and engine. @internal */
export interface QuantizedOps {
  readonly backend: QuantizedBackend;
  readonly engine: Engine;
  /** `torch.quantize_per_tensor(x, scale, zero_point, dtype)`. */
  readonly quantizePerTensor: QuantizedOpTarget;
  /** `torch.ops.quantized.{add,add_relu,mul,mul_relu}(a, b, scale, zero_point)`. */
  readonly binary: Readonly<Record<'add' | 'add_relu' | 'mul' | 'mul_relu', QuantizedOpTarget>>;
  /** `torch.ops.quantized.hardswish(x, output_scale=…, output_zero_point=…)`. */
  readonly hardswish: QuantizedOpTarget;
  /** The float op `op` made to run on QTensors too (undefined when quint cannot). */
  lowered(op: unknown): QuantizedOpTarget | undefined;
  /** Gives `root`'s modules this backend and engine (float modules then run QTensors). */
  bind(root: Module): void;
}

/** Builds the runtime targets for `backend` and `engine`. @internal */
export function makeQuantizedOps(backend: QuantizedBackend, engine: Engine): QuantizedOps {
  const bindModule = <M extends Module>(m: M): M => {
    setQuantizedBackend(m, { backend, engine });
    return m;
  };
  const opts = { backend, engine };
  const quantizePerTensor = named(
    'quantize_per_tensor',
    (x: Tensor, scale: number, zeroPoint: number, dtype: QDtype = 'quint8'): QTensor => {
      return backend.kernels.quantizePerTensor(x, { scale, zeroPoint, dtype }, { engine });
    },
  );
  const binaryOp = (name: 'add' | 'add_relu' | 'mul' | 'mul_relu'): QuantizedOpTarget =>
    named(`quantized.${name}`, (a: QTensor, b: QTensor, scale: number, zeroPoint: number): QTensor => {
      const f = new nnq.QFunctional(opts);
      f.scale = scale;
      f.zeroPoint = zeroPoint;
      if (name === 'add') return f.add(a, b);
      if (name === 'add_relu') return f.addRelu(a, b);
      if (name === 'mul') return f.mul(a, b);
      // QFunctional has no mulRelu: the kernel directly (contiguous memory order assumed).
      return backend.kernels.mulRelu(a, b, { scale, zeroPoint }, { engine });
    });
  const binary = {
    add: binaryOp('add'),
    add_relu: binaryOp('add_relu'),
    mul: binaryOp('mul'),
    mul_relu: binaryOp('mul_relu'),
  };
  const hardswish = named(
    'quantized.hardswish',
    (x: QTensor, kw: { output_scale: number; output_zero_point: number }): QTensor => {
      const h = new nnq.Hardswish(kw.output_scale, kw.output_zero_point, opts);
      return (h.call as (x: QTensor) => QTensor)(x);
    },
  );

  // Float ops that PyTorch runs on quantized tensors once lowered, by opName.
  const unary =
    (m: () => Module) =>
    (x: QTensor): QTensor =>
      (bindModule(m()).call as (x: QTensor) => QTensor)(x);
  const onQuantized: Record<string, (...args: never[]) => unknown> = {
    relu: (x: QTensor) => unary(() => new ReLU())(x),
    relu6: (x: QTensor) => unary(() => new ReLU6())(x),
    hardtanh: (x: QTensor, minVal = -1, maxVal = 1) => unary(() => new Hardtanh({ minVal, maxVal }))(x),
    sigmoid: (x: QTensor) => unary(() => new Sigmoid())(x),
    tanh: (x: QTensor) => unary(() => new Tanh())(x),
    hardsigmoid: (x: QTensor) => unary(() => new Hardsigmoid())(x),
    maxPool2d: (
      x: QTensor,
      o: ConstructorParameters<typeof MaxPool2d>[1] & { kernelSize: ConstructorParameters<typeof MaxPool2d>[0] },
    ) => unary(() => new MaxPool2d(o.kernelSize, o))(x),
    avgPool2d: (
      x: QTensor,
      o: ConstructorParameters<typeof AvgPool2d>[1] & { kernelSize: ConstructorParameters<typeof AvgPool2d>[0] },
    ) => unary(() => new AvgPool2d(o.kernelSize, o))(x),
    adaptiveAvgPool2d: (x: QTensor, size: ConstructorParameters<typeof AdaptiveAvgPool2d>[0]) =>
      unary(() => new AdaptiveAvgPool2d(size))(x),
    flatten: (x: QTensor, startDim = 0, endDim = -1) => unary(() => new Flatten(startDim, endDim))(x),
    // torch.cat on quantized tensors: the output takes the first input's qparams (spec §5.5).
    cat: (xs: readonly QTensor[], dim = 0) => {
      const f = new nnq.QFunctional(opts);
      const first = xs[0];
      if (first === undefined)
        throw new QuantError('INVALID_ARGUMENT', 'cat: got an empty list of tensors; pass at least one.');
      f.scale = first.qScale();
      f.zeroPoint = first.qZeroPoint();
      return f.cat(xs, dim);
    },
  };
  const cache = new Map<unknown, QuantizedOpTarget>();
  const lowered = (op: unknown): QuantizedOpTarget | undefined => {
    if (cache.has(op)) return cache.get(op);
    const name = (op as { opName?: unknown }).opName;
    if (typeof name !== 'string' || !(name in onQuantized)) return undefined;
    const q = onQuantized[name]!;
    const float = op as (...a: unknown[]) => unknown;
    const fn = named(name, (...args: unknown[]): unknown => {
      const first = args[0];
      const quantized = Array.isArray(first) ? first.length > 0 && first.every(isQ) : isQ(first);
      return quantized ? (q as (...a: unknown[]) => unknown)(...args) : float(...args);
    });
    cache.set(op, fn);
    return fn;
  };
  return {
    backend,
    engine,
    quantizePerTensor,
    binary,
    hardswish,
    lowered,
    bind: (root) => setQuantizedBackend(root, { backend, engine }),
  };
}
