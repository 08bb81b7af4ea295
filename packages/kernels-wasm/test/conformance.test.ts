// The contract: a backend is done when the shared conformance suite passes against the reference.
// Cases for ops or engines supports() declines (the README's table: dequantize, reshape/flatten,
// engine ort's average pools and mean, …) are skipped by name.
import { describeBackendConformance } from '@quint/backend-conformance';
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '../src/index.js';

describeBackendConformance(() => createWasmBackend(), { reference: createJsBackend });
