export type { Digest, ReleaseManifest, ReleaseRecord, ReleaseRole, ReleaseService } from './types.js';
export { createRelease, freezeService, frozenServices, ensureReleaseRef } from './create.js';
export { listReleases, getRelease, latestRelease, releaseRef, type ReleaseSummary } from './store.js';
export { describeChange, diffReleases, formatReleaseDiff, type ReleaseDiff, type ReleaseChange } from './diff.js';
