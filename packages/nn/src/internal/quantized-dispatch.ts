// How float modules run when they get a QTensor after convert (PyTorch dispatches on the tensor:
// nn.ReLU, nn.MaxPool2d, nn.Flatten, … work on quantized tensors). nn imports no backend: the one
// `convert` used is put on each module by `setQuantizedBackend`.
import { QuantError } from '@quint/tensor';
import {
  DEFAULT_ENGINE,
  type Engine,
  type KernelOptions,
  type OpName,
  type QTensor,
  type QuantizedBackend,
} from '@quint/qtensor';
import { type Module, moduleError } from '../module.js';
import { memoryFormatOf, resultFormat, withMemoryFormat } from './memory-format.js';

/** The backend and engine a module runs quantized ops with. */
export interface QuantizedContext {
  readonly backend: QuantizedBackend;
  readonly engine: Engine;
}

/** The module's backend, or a clear error naming its path. */
export function contextOf(m: Module): QuantizedContext {
  const { backend, engine } = m as unknown as { backend?: QuantizedBackend; engine?: Engine };
  if (backend === undefined) {
    throw moduleError(
      m,
      new QuantError('INVALID_ARGUMENT', ''),
      (path) =>
        `${m.getName()}${path === '' ? '' : ` '${path}'`} got a QTensor but has no quantized backend; convert the model with convert(model, { backend }), or call setQuantizedBackend(model, { backend }).`,
    );
  }
  return { backend, engine: engine ?? DEFAULT_ENGINE };
}

/** Runs one kernel on `x` with the module's engine and `x`'s memory-format hint; tags the result. */
export function runUnary(
  m: Module,
  op: OpName,
  x: QTensor,
  kernel: (be: QuantizedBackend, opts: KernelOptions) => QTensor,
): QTensor {
  const { backend, engine } = contextOf(m);
  const fmt = memoryFormatOf(x);
  const trace = (m as unknown as { trace?: KernelOptions['trace'] }).trace;
  const opts: KernelOptions = { engine, memoryFormat: fmt, ...(trace === undefined ? {} : { trace }) };
  return withMemoryFormat(kernel(backend, opts), resultFormat(op, engine, fmt));
}

/** The error for a float module (conv, linear, batch norm) that got a QTensor. */
export function floatModuleGotQTensor(m: Module): QuantError {
  return moduleError(
    m,
    new QuantError('DTYPE_MISMATCH', ''),
    (path) =>
      `${m.getName()}${path === '' ? '' : ` '${path}'`} is a float module but got a QTensor: it was left in float at convert (no qconfig, or no quantized mapping for its type); put a DeQuantStub before it, or give it a qconfig so convert swaps it.`,
  );
}
