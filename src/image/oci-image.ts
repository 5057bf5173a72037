// Writing an OCI image (image-spec v1.1) into Kiln's OCI layout, without a daemon: the config
// (application/vnd.oci.image.config.v1+json) and the manifest are canonical JSON, so the same
// layers and settings always give the same manifest digest. Identity is by uncompressed
// diff_id; layer blobs are stored uncompressed by default (see gzip-cache.ts for why and for
// the optional compressed form, which never changes a digest once made).
import type { Digest } from '../release/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import { MEDIA, type Descriptor, type OciLayout, type OciManifest } from '../store/oci-layout.js';
import { gzipLayer } from './gzip-cache.js';

export const IMAGE_MEDIA = {
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: MEDIA.layerTar,
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Annotation keys from the image-spec's pre-defined set. */
export const ANNOTATION = {
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
  baseDigest: 'org.opencontainers.image.base.digest',
  baseName: 'org.opencontainers.image.base.name',
  title: 'org.opencontainers.image.title',
} as const;

export type Compression = 'none' | 'gzip';

export interface LayerInput {
  /** sha256 of the uncompressed tar; its blob must already be in the layout. */
  diffId: Digest;
  size: number;
  /** History entry text, e.g. "kiln os layer os/bookworm:2026.01.15.1". */
  createdBy: string;
}

/** The runtime part of the config (image-spec config.md, "config" object). */
export interface RunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Env?: string[];
  Labels?: Record<string, string>;
  StopSignal?: string;
  User?: string;
}

export interface ImageInput {
  layers: LayerInput[];
  run: RunConfig;
  annotations: Record<string, string>;
  /** RFC 3339 time of every `created` field: from SOURCE_DATE_EPOCH, never the clock. */
  created: string;
  compression?: Compression;
  /** .kiln directory (for the gzip cache); needed only with compression "gzip". */
  kilnDir?: string;
}

export interface WrittenLayer {
  diffId: Digest;
  /** Blob digest (equal to diffId when uncompressed). */
  digest: Digest;
  size: number;
  mediaType: string;
}

export interface WrittenImage {
  /** Descriptor of the image manifest (put it in index.json with OciLayout.setRef). */
  manifest: Descriptor;
  config: Descriptor;
  layers: WrittenLayer[];
}

/** OCI architecture name of this machine. */
export function ociArchitecture(arch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

export function epochToRfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** The config object as written (exported so verify can diff it field by field). */
export function imageConfig(input: ImageInput): Record<string, unknown> {
  return {
    created: input.created,
    architecture: ociArchitecture(),
    os: 'linux',
    config: input.run,
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
    // One entry per layer, none empty: podman refuses an image whose history and layers disagree.
    history: input.layers.map((l) => ({ created: input.created, created_by: l.createdBy })),
  };
}

export async function writeImage(oci: OciLayout, input: ImageInput): Promise<WrittenImage> {
  const configBlob = oci.putBlob(Buffer.from(canonicalJson(imageConfig(input))));
  const config: Descriptor = { mediaType: IMAGE_MEDIA.config, digest: configBlob.digest, size: configBlob.size };
  const layers: WrittenLayer[] = [];
  for (const l of input.layers) {
    if (input.compression === 'gzip') {
      if (!input.kilnDir) throw new Error('writeImage: gzip compression needs kilnDir');
      const gz = await gzipLayer(oci, input.kilnDir, l.diffId);
      layers.push({ diffId: l.diffId, digest: gz.digest, size: gz.size, mediaType: IMAGE_MEDIA.layerGzip });
    } else {
      layers.push({ diffId: l.diffId, digest: l.diffId, size: l.size, mediaType: IMAGE_MEDIA.layerTar });
    }
  }
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(Object.keys(input.annotations).length ? { annotations: input.annotations } : {}),
  };
  return { manifest: oci.putManifest(manifest), config, layers };
}

/** Read an image's config back (verified against its digest by readBlob). */
export function readImageConfig(oci: OciLayout, digest: Digest): { rootfs: { diff_ids: Digest[] }; config: RunConfig; created: string } {
  return JSON.parse(oci.readBlob(digest).toString('utf8')) as { rootfs: { diff_ids: Digest[] }; config: RunConfig; created: string };
}
