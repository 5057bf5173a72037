// A service's image: OS layer (an os/<base> tag) + Kiln's platform layer + app layer (an
// app/<service> tag, mounted at /app), written by oci-image.ts. Every input is a tag or a
// constant, so the same tags always give the same image digest; nothing is compressed or
// copied (the OS and app tags' blobs are the image's layers), so a rebuild takes milliseconds.
//
// Refs in the OCI layout (`skopeo inspect oci:.kiln/oci:<ref>`, `podman run oci:…:<ref>`):
//   image/<service>:sha256-<hex>   immutable: names exactly one image, by its manifest digest;
//                                  what a runtime should use (imageDigestRef / ociTransportRef)
//   image/<service>:<app tag>      the newest image built from that app tag, for people
import { serviceOf } from '../spec/lookup.js';
import type { Digest } from '../release/types.js';
import { KilnError } from '../errors.js';
import type { ProjectSpec } from '../spec/types.js';
import type { Store } from '../store/init.js';
import { verifyBlobFile, type OciLayout } from '../store/oci-layout.js';
import { resolveTag, type TagRecord } from '../streams/app/tags.js';
import { sourceDateEpoch } from './tar.js';
import { ANNOTATION, epochToRfc3339, writeImage, type Compression, type WrittenLayer } from './oci-image.js';
import { APP_DIR, PLATFORM_VERSION, STOP_SIGNAL, putPlatformLayer } from './platform-layer.js';

export const LABEL = {
  project: 'dev.kiln.project',
  service: 'dev.kiln.service',
  app: 'dev.kiln.app',
  os: 'dev.kiln.os',
  init: 'dev.kiln.init',
  platform: 'dev.kiln.platform',
} as const;

const IMAGE_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type LayerRole = 'os' | 'platform' | 'app';

export interface ImageRecord {
  service: string;
  /** Manifest digest: the image's identity. */
  digest: Digest;
  /** Immutable ref of this image in index.json: image/<service>:sha256-<hex>. */
  ref: string;
  /** Movable ref: image/<service>:<app tag>. */
  tagRef: string;
  config: Digest;
  size: number;
  layers: Array<WrittenLayer & { role: LayerRole }>;
  app: { stream: string; tag: string; digest: Digest };
  os: { stream: string; tag: string; digest: Digest; manifest: Digest };
  entrypoint: string[];
}

export interface ImageSources {
  project: string;
  service: string;
  /** The service's run command (from kiln.yaml, or frozen in a release). */
  run: string[];
  app: TagRecord;
  os: TagRecord;
}

export function imageStream(service: string): string {
  return `image/${service}`;
}

/** image/<service>:sha256-<hex>: the ref a runtime uses for the image with this digest. */
export function imageDigestRef(service: string, digest: Digest): string {
  return `${imageStream(service)}:${digest.replace(':', '-')}`;
}

/** "oci:<dir>:<ref>", the transport name podman, skopeo and buildah accept. */
export function ociTransportRef(ociDir: string, ref: string): string {
  return `oci:${ociDir}:${ref}`;
}

/** Build (or find: same inputs, same digest) an image. `setRefs: false` leaves index.json alone (verify). */
export async function buildImageFrom(store: Store, src: ImageSources, compression: Compression = 'none', setRefs = true): Promise<ImageRecord> {
  const osManifest = store.oci.readManifest(src.os.manifestDigest);
  const osLayer = osManifest.layers[0];
  if (!osLayer || osManifest.layers.length !== 1 || osLayer.digest !== src.os.digest) {
    throw new KilnError('CORRUPT_STORE', `the manifest of ${src.os.stream}:${src.os.tag} does not hold its layer ${src.os.digest}`);
  }
  if (!store.oci.hasBlob(src.os.digest)) throw missing(src.os);
  if (!store.oci.hasBlob(src.app.digest)) throw missing(src.app);
  const platform = putPlatformLayer(store.oci);
  const created = epochToRfc3339(sourceDateEpoch());
  const osRef = `${src.os.stream}:${src.os.tag}`;
  const appRef = `${src.app.stream}:${src.app.tag}`;
  const appSource = (src.app.source as { path?: string }).path ?? src.app.stream;
  const written = await writeImage(store.oci, {
    layers: [
      { diffId: src.os.digest, size: src.os.size, createdBy: `kiln os layer ${osRef}` },
      { diffId: platform.digest, size: platform.size, createdBy: `kiln platform layer v${PLATFORM_VERSION}` },
      { diffId: src.app.digest, size: src.app.size, createdBy: `kiln app layer ${appRef} at ${APP_DIR}` },
    ],
    run: {
      Entrypoint: [...src.run],
      WorkingDir: APP_DIR,
      Env: [IMAGE_PATH],
      StopSignal: STOP_SIGNAL,
      Labels: {
        [LABEL.project]: src.project,
        [LABEL.service]: src.service,
        [LABEL.app]: appRef,
        [LABEL.os]: osRef,
        [LABEL.init]: 'runtime',
        [LABEL.platform]: PLATFORM_VERSION,
      },
    },
    annotations: {
      [ANNOTATION.source]: appSource,
      [ANNOTATION.revision]: src.app.digest,
      [ANNOTATION.version]: src.app.tag,
      [ANNOTATION.created]: created,
      [ANNOTATION.baseDigest]: src.os.manifestDigest,
      [ANNOTATION.baseName]: osRef,
      [ANNOTATION.title]: imageStream(src.service),
    },
    created,
    compression,
    kilnDir: store.kilnDir,
  });
  const roles: LayerRole[] = ['os', 'platform', 'app'];
  const rec: ImageRecord = {
    service: src.service,
    digest: written.manifest.digest,
    ref: imageDigestRef(src.service, written.manifest.digest),
    tagRef: `${imageStream(src.service)}:${src.app.tag}`,
    config: written.config.digest,
    size: written.manifest.size + written.config.size + written.layers.reduce((n, l) => n + l.size, 0),
    layers: written.layers.map((l, i) => ({ ...l, role: roles[i] as LayerRole })),
    app: { stream: src.app.stream, tag: src.app.tag, digest: src.app.digest },
    os: { stream: src.os.stream, tag: src.os.tag, digest: src.os.digest, manifest: src.os.manifestDigest },
    entrypoint: [...src.run],
  };
  // Refs only when they change: a no-op rebuild writes nothing.
  for (const ref of setRefs ? [rec.ref, rec.tagRef] : []) {
    if (store.oci.getRef(ref)?.digest !== rec.digest) store.oci.setRef(ref, written.manifest);
  }
  return rec;
}

export interface ServiceImageOptions {
  /** App tag to build from; default the stream's head. */
  appTag?: string;
  /** OS tag of the service's base; default the base's head. */
  osTag?: string;
  compression?: Compression;
}

/** `kiln image build <service>`: the service's head app tag on its OS base's head tag. */
export async function buildServiceImage(store: Store, spec: ProjectSpec, service: string, opts: ServiceImageOptions = {}): Promise<ImageRecord> {
  const svc = serviceOf(spec, service);
  if (!svc.os) {
    throw new KilnError('USAGE', `service ${service} has no OS base, so it has no image`, {
      location: { file: spec.file },
      hint: `set services.${service}.os to a base defined under os: (then \`kiln os build <base>\`)`,
    });
  }
  const app = resolveTag(store.db, `app/${service}`, opts.appTag ?? 'head');
  const os = resolveTag(store.db, `os/${svc.os}`, opts.osTag ?? 'head');
  return buildImageFrom(store, { project: spec.project, service, run: svc.app.run, app, os }, opts.compression);
}

/** Read back what an image in the layout was built from (its labels and annotations). */
export function readImage(oci: OciLayout, digest: Digest): { manifest: ReturnType<OciLayout['readManifest']>; appRef: string; osRef: string; service: string; project: string; run: string[]; config: Digest } {
  const manifest = oci.readManifest(digest);
  const cfg = JSON.parse(oci.readBlob(manifest.config.digest).toString('utf8')) as { config?: { Labels?: Record<string, string>; Entrypoint?: string[] } };
  const labels = cfg.config?.Labels ?? {};
  const appRef = labels[LABEL.app];
  const osRef = labels[LABEL.os];
  if (!appRef || !osRef || !labels[LABEL.service]) throw new KilnError('CORRUPT_STORE', `image ${digest} was not built by kiln (no ${LABEL.app}/${LABEL.os} labels)`);
  return { manifest, appRef, osRef, service: labels[LABEL.service] as string, project: labels[LABEL.project] ?? '', run: cfg.config?.Entrypoint ?? [], config: manifest.config.digest };
}

/** Re-hash every layer blob of an image; a damaged one is a CORRUPT_STORE error. */
export function verifyImageBlobs(oci: OciLayout, digest: Digest): void {
  const m = oci.readManifest(digest);
  oci.readBlob(m.config.digest);
  for (const l of m.layers) verifyBlobFile(oci, l.digest);
}

function missing(t: TagRecord): KilnError {
  return new KilnError('CORRUPT_STORE', `the layer of ${t.stream}:${t.tag} (${t.digest}) is missing from the store`, {
    location: { tag: `${t.stream}:${t.tag}` },
    hint: 'rebuild that tag',
  });
}

/** The record of an image already in the layout (for `kiln image inspect`). */
export function imageRecordOf(store: Store, digest: Digest): ImageRecord {
  const img = readImage(store.oci, digest);
  const cfg = JSON.parse(store.oci.readBlob(img.config).toString('utf8')) as { rootfs: { diff_ids: Digest[] } };
  const roles: LayerRole[] = ['os', 'platform', 'app'];
  const [appStream, appTag] = [img.appRef.slice(0, img.appRef.lastIndexOf(':')), img.appRef.slice(img.appRef.lastIndexOf(':') + 1)];
  const [osStream, osTag] = [img.osRef.slice(0, img.osRef.lastIndexOf(':')), img.osRef.slice(img.osRef.lastIndexOf(':') + 1)];
  const layers = img.manifest.layers.map((l, i) => ({ role: roles[i] as LayerRole, diffId: cfg.rootfs.diff_ids[i] as Digest, digest: l.digest, size: l.size, mediaType: l.mediaType }));
  const manifestSize = store.oci.readBlob(digest).length;
  return {
    service: img.service,
    digest,
    ref: imageDigestRef(img.service, digest),
    tagRef: `${imageStream(img.service)}:${appTag}`,
    config: img.config,
    size: manifestSize + img.manifest.config.size + layers.reduce((n, l) => n + l.size, 0),
    layers,
    app: { stream: appStream, tag: appTag, digest: layers[2]?.diffId ?? '' },
    os: { stream: osStream, tag: osTag, digest: layers[0]?.diffId ?? '', manifest: img.manifest.annotations?.[ANNOTATION.baseDigest] ?? '' },
    entrypoint: img.run,
  };
}

/** The image built from a service's app tag (default head), or a TAG_NOT_FOUND error saying how to build it. */
export function findServiceImage(store: Store, service: string, appTag = 'head'): ImageRecord {
  const app = resolveTag(store.db, `app/${service}`, appTag);
  const d = store.oci.getRef(`${imageStream(service)}:${app.tag}`);
  if (!d) {
    throw new KilnError('TAG_NOT_FOUND', `no image of app/${service}:${app.tag} has been built`, {
      location: { tag: `${imageStream(service)}:${app.tag}` },
      hint: `run \`kiln image build ${service}\``,
    });
  }
  return imageRecordOf(store, d.digest);
}
