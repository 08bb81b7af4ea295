import { kernelLibraryConfig } from '../../tooling/tsup.js';

export default kernelLibraryConfig();
