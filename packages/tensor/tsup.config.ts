import { libraryConfig } from '../../tooling/tsup.js';

export default libraryConfig();
