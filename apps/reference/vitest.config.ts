import { project } from '../../vitest.shared.js';

export default project('reference', { testTimeout: 120_000 });
