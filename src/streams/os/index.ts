export { buildOs, osStream, osSpecOf, osTagSource, type OsBuildOptions, type OsBuildResult, type OsTagSource } from './build.js';
export { diffBom, readBom, parseDpkgStatus, type Bom, type BomDiff } from './bom.js';
export { mmdebstrapCommand, osEpoch, DEFAULT_OS_EPOCH } from './mmdebstrap.js';
export { resolveSources, readAptSources, sourceLines, type AptSource } from './sources.js';
