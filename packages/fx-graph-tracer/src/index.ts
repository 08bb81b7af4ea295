export { Graph } from './graph.js';
export type { OwningModule } from './graph.js';
export { Node, OPCODES, mapArg, mapAggregate, formatArg } from './node.js';
export type { Opcode, Target, Argument, Kwargs } from './node.js';
export type { CallableTarget } from './format.js';
export { getitem, getattr } from './builtins.js';
export { GraphModule } from './graph-module.js';
export { Interpreter } from './interpreter.js';
export type { InterpreterOptions } from './interpreter.js';
export { TraceProxy, isTraceProxy } from './trace-proxy.js';
export type { ProxyTracer } from './trace-proxy.js';
export { Tracer, symbolicTrace } from './symbolic-trace.js';
export type { SymbolicTraceOptions, LeafModules, ModuleClass } from './symbolic-trace.js';
export { SubgraphMatcher, matchSequential } from './subgraph-matcher.js';
export type {
  InternalMatch,
  SubgraphMatcherOptions,
  PatternElement,
  SequentialMatch,
  MatchSequentialOptions,
} from './subgraph-matcher.js';
