/** The version quint writes into `metadata_props` as `quint.version` (this package's version). */
export const QUINT_VERSION = '0.1.0';
