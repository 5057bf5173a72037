// A release: the immutable, numbered collection of tags for every service (ARCHITECTURE.md).
// Everything a deploy needs about a service is frozen here, so deploying r17 next year runs
// exactly what r17 meant, whatever kiln.yaml says by then. Environment-specific values
// (runtime, scale, flag values) are not in a release: they come from the environment.
import type { FlagMap, FlagStyle, HealthCheckSpec } from '../spec/types.js';

/** "sha256:<64 hex>" */
export type Digest = string;

export interface ReleaseRole {
  replicas: number;
  port?: string;
  health?: HealthCheckSpec;
  flags: FlagMap;
  /** Positional arguments replacing the service's. */
  args?: string[];
}

export interface ReleaseImage {
  /** Manifest digest of the image in the OCI layout. */
  digest: Digest;
  /** Immutable ref in index.json, e.g. image/api:sha256-<hex>. */
  ref: string;
  /** The OS tag it was built on. */
  os: { stream: string; tag: string; digest: Digest };
}

export interface ReleaseService {
  /** The app stream's tag, e.g. { stream: "app/api", tag: "1.0.0", digest: "sha256:..." } */
  app: { stream: string; tag: string; digest: Digest };
  /** OS base name from kiln.yaml when the service has one. */
  os?: string;
  /** The service's image (OS + platform + app layers), when its OS base had a tag at release time. */
  image?: ReleaseImage;
  run: string[];
  roles: Record<string, ReleaseRole>;
  flags: FlagMap;
  /** How the flags are written; absent: `equals` (releases made before it was a choice). */
  flagsStyle?: FlagStyle;
  /** Positional arguments after the flags; absent: none. */
  args?: string[];
}

export interface ReleaseManifest {
  /** Media type of the blob, so a manifest is self-describing in the OCI layout. */
  schema: 'kiln.release.v1';
  project: string;
  /** "r1", "r2", ... */
  name: string;
  number: number;
  /** Name of the release this one was made after ("r16"), or null for the first. */
  parent: string | null;
  createdAt: string;
  services: Record<string, ReleaseService>;
  /** Per data store, the changelog head the release needs (deploy migrates to it first). */
  data?: Record<string, { position: number; checksum: string }>;
  /** The release's changelog entries may break the previous release's servers, and that is intended. */
  breaking?: boolean;
}

export interface ReleaseRecord {
  name: string;
  number: number;
  /** Digest of the canonical JSON of the manifest, as stored in the OCI layout. */
  digest: Digest;
  manifest: ReleaseManifest;
}
