// Creating a release: freeze every service's head app tag and how it runs into a numbered,
// content-addressed manifest. Nothing is created when nothing changed since the last release.
import { KilnError } from '../errors.js';
import type { ProjectSpec, ServiceSpec } from '../spec/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import { MEDIA, type OciLayout } from '../store/oci-layout.js';
import type { Database } from '../store/state-db.js';
import { appStream } from '../streams/app/app.js';
import { resolveTag, type TagRecord } from '../streams/app/tags.js';
import type { ReleaseImage, ReleaseManifest, ReleaseRecord, ReleaseRole, ReleaseService } from './types.js';
import { latestRelease, releaseRef } from './store.js';

export function freezeService(svc: ServiceSpec, tag: TagRecord, image?: ReleaseImage): ReleaseService {
  const roles: Record<string, ReleaseRole> = {};
  for (const [name, r] of Object.entries(svc.roles)) {
    roles[name] = {
      replicas: r.replicas,
      ...(r.port !== undefined ? { port: r.port } : {}),
      ...(r.health !== undefined ? { health: { ...r.health } } : {}),
      flags: { ...r.flags },
      ...(r.args !== undefined ? { args: [...r.args] } : {}),
    };
  }
  return {
    app: { stream: tag.stream, tag: tag.tag, digest: tag.digest },
    ...(svc.os !== undefined ? { os: svc.os } : {}),
    ...(image ? { image } : {}),
    run: [...svc.app.run],
    roles,
    flags: { ...svc.flags },
    // Only when not the default: a release that changed nothing keeps its content address.
    ...(svc.flagsStyle !== 'equals' ? { flagsStyle: svc.flagsStyle } : {}),
    ...(svc.args.length ? { args: [...svc.args] } : {}),
  };
}

/** Every service at its head tag; a service without tags is a TAG_NOT_FOUND error. */
export function frozenServices(db: Database, spec: ProjectSpec, images: Record<string, ReleaseImage> = {}): Record<string, ReleaseService> {
  const services: Record<string, ReleaseService> = {};
  for (const name of Object.keys(spec.services).sort()) {
    const tag = resolveTag(db, appStream(name), 'head');
    services[name] = freezeService(spec.services[name] as ServiceSpec, tag, images[name]);
  }
  return services;
}

/** `images`: the image built for each service with an OS base (see cli/commands/release.ts). */
export function createRelease(
  db: Database,
  oci: OciLayout,
  spec: ProjectSpec,
  images: Record<string, ReleaseImage> = {},
  opts: { data?: Record<string, { position: number; checksum: string }>; breaking?: boolean } = {},
): ReleaseRecord | { unchanged: ReleaseRecord } {
  const services = frozenServices(db, spec, images);
  const data = opts.data && Object.keys(opts.data).length ? opts.data : undefined;
  const content = (m: { services: unknown; data?: unknown; breaking?: boolean }): string =>
    canonicalJson({ services: m.services, data: m.data ?? null, breaking: m.breaking ?? false });
  if (Object.keys(services).length === 0) {
    throw new KilnError('USAGE', `${spec.file} defines no services; a release needs at least one`);
  }
  // IMMEDIATE: the number is read and claimed under the write lock, so two concurrent
  // `kiln release create` can't both make r5. The blob is written inside (before the row):
  // a crash leaves at most an orphan blob, never a row without its manifest or its ref.
  const outcome = db.transaction((): ReleaseRecord | { unchanged: ReleaseRecord } => {
    const last = latestRelease(db, oci);
    if (last && last.manifest.project === spec.project && content(last.manifest) === content({ services, ...(data ? { data } : {}), ...(opts.breaking ? { breaking: true } : {}) })) {
      return { unchanged: last };
    }
    const number = (last?.number ?? 0) + 1;
    const manifest: ReleaseManifest = {
      schema: 'kiln.release.v1',
      project: spec.project,
      name: `r${number}`,
      number,
      parent: last?.name ?? null,
      createdAt: new Date().toISOString(),
      services,
      ...(data ? { data } : {}),
      ...(opts.breaking ? { breaking: true } : {}),
    };
    const blob = oci.putBlob(Buffer.from(canonicalJson(manifest)));
    db.prepare('INSERT INTO releases (number, name, digest, parent, created_at) VALUES (?, ?, ?, ?, ?)').run(
      number,
      manifest.name,
      blob.digest,
      manifest.parent,
      manifest.createdAt,
    );
    const rec = { name: manifest.name, number, digest: blob.digest, manifest };
    // The ref inside the transaction too: if it can't be set (the layout's index is locked by a
    // live process past the wait), the row is rolled back and the error says so; never a release
    // row without its ref. A crash between the ref and the commit leaves a ref the next r<N> replaces.
    ensureReleaseRef(oci, rec);
    return rec;
  }).immediate();
  if ('unchanged' in outcome) ensureReleaseRef(oci, outcome.unchanged);
  return outcome;
}

/** The OCI ref release/r<N> for skopeo & co; also repairs one lost to a crash. */
export function ensureReleaseRef(oci: OciLayout, rec: ReleaseRecord): void {
  const size = Buffer.byteLength(canonicalJson(rec.manifest));
  const desc = oci.putArtifact(MEDIA.releaseArtifact, [{ mediaType: MEDIA.releaseJson, digest: rec.digest, size }], {
    'org.opencontainers.image.created': rec.manifest.createdAt,
  });
  if (oci.getRef(releaseRef(rec.name))?.digest !== desc.digest) oci.setRef(releaseRef(rec.name), desc);
}
