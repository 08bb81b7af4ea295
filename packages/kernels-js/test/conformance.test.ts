import { describeBackendConformance } from '@quint/backend-conformance';
import { createJsBackend } from '../src/index.js';

describeBackendConformance(() => createJsBackend({ onWarning: () => {} }), { reference: createJsBackend });
