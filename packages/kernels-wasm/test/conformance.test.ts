// The contract: a backend is done when the shared conformance suite passes against the reference.
// Cases for ops or engines supports() declines (quantize, reshape/flatten, most engine-ort non-GEMM ops) are skipped by name.
import { describeBackendConformance } from '@quint/backend-conformance';
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '../src/index.js';

describeBackendConformance(() => createWasmBackend(), { reference: createJsBackend });
