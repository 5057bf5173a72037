export { buildApp, type BuiltApp, type BuildOptions } from './build.js';
export { serviceOf } from '../../spec/lookup.js';
export { appStream, appTagSource, tagApp, buildAndTagApp, appLayerDigest, extractAppLayer, materializeApp, appDirOf } from './app.js';
export {
  listTags,
  listStreams,
  resolveTag,
  getTag,
  validateTag,
  tagProblem,
  HEAD,
  type TagRecord,
  type TagSource,
} from './tags.js';
