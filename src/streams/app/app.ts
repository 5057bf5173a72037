// The app stream: tag a built app as app/<service>:<version>, find a tag's layer, extract it.
import fs from 'node:fs';
import path from 'node:path';
import type { Digest } from '../../release/types.js';
import type { ProjectSpec, ServiceSpec } from '../../spec/types.js';
import { KilnError } from '../../errors.js';
import { MEDIA, OciLayout, verifyBlobFile } from '../../store/oci-layout.js';
import type { Database } from '../../store/state-db.js';
import type { Store } from '../../store/init.js';
import { extractTar, removeReadOnlyTree, type ExtractResult } from '../../image/tar-extract.js';
import { fsyncDir, tempPathFor } from '../../store/atomic.js';
import { buildApp, type BuildOptions, type BuiltApp } from './build.js';
import { serviceOf } from '../../spec/lookup.js';
import { sourceRevision } from './revision.js';
import { assertTagFree, insertTag, validateTag, type TagRecord, type TagSource } from './tags.js';

export function appStream(service: string): string {
  return `app/${service}`;
}

/** Tag a built app. Same version and digest: {created:false}; other digest: TAG_CONFLICT. */
export function tagApp(
  db: Database,
  oci: OciLayout,
  service: string,
  version: string,
  built: Pick<BuiltApp, 'digest' | 'size'>,
  source: TagSource,
): { created: boolean; tag: TagRecord } {
  const stream = appStream(service);
  validateTag(stream, version);
  // Blobs first, then the row, then the ref: a crash in between leaves at most an orphan blob
  // or a missing ref, which re-running the same tag repairs (same digest: no-op + setRef).
  const manifest = oci.putArtifact(MEDIA.appArtifact, [{ mediaType: MEDIA.layerTar, digest: built.digest, size: built.size }]);
  const result = insertTag(db, { stream, tag: version, digest: built.digest, size: built.size, manifestDigest: manifest.digest, source });
  const ref = `${stream}:${version}`;
  if (result.created || oci.getRef(ref)?.digest !== result.tag.manifestDigest) {
    oci.setRef(ref, { mediaType: MEDIA.manifest, digest: result.tag.manifestDigest, size: manifest.size, artifactType: MEDIA.appArtifact });
  }
  return result;
}

/** What a tag records about how it was built: source path, command, output, OS image, build-env. */
export function appTagSource(svc: ServiceSpec, builtIn?: string): TagSource {
  return {
    path: svc.app.path,
    ...(svc.app.build ? { build: svc.app.build } : {}),
    ...(svc.app.output ? { output: svc.app.output } : {}),
    ...(builtIn ? { builtIn } : {}),
    ...(Object.keys(svc.app.buildEnv).length ? { buildEnv: svc.app.buildEnv } : {}),
  };
}

/**
 * `kiln app tag <service> <version>` in one call: check the version name first (nothing is
 * built for a bad name), build, then tag.
 */
export async function buildAndTagApp(
  store: Store,
  spec: ProjectSpec,
  service: string,
  version: string,
  onProgress?: (line: string) => void,
  buildIn?: BuildOptions['buildIn'],
): Promise<{ created: boolean; tag: TagRecord; files: number }> {
  const svc = serviceOf(spec, service);
  validateTag(appStream(service), version);
  const built = await buildApp(spec, service, {
    kilnDir: store.kilnDir,
    ...(onProgress ? { onProgress } : {}),
    ...(buildIn ? { buildIn } : {}),
    beforeStore: (digest) => assertTagFree(store.db, appStream(service), version, digest),
  });
  const source = appTagSource(svc, buildIn?.describe);
  const revision = sourceRevision(path.resolve(spec.dir, svc.app.path));
  if (revision) source.revision = revision;
  const r = tagApp(store.db, store.oci, service, version, built, source);
  return { ...r, files: built.files };
}

/** The tar layer of an app tag, checked against the tag's manifest. */
export function appLayerDigest(oci: OciLayout, tag: Pick<TagRecord, 'stream' | 'tag' | 'digest' | 'manifestDigest'>): Digest {
  const m = oci.readManifest(tag.manifestDigest);
  const layer = m.layers.find((l) => l.mediaType === MEDIA.layerTar);
  if (!layer || layer.digest !== tag.digest) {
    throw new KilnError('CORRUPT_STORE', `the manifest of ${tag.stream}:${tag.tag} does not hold its layer ${tag.digest}`);
  }
  return layer.digest;
}

/**
 * Extract an app layer (by its digest, as found in a release's services[x].app.digest) into
 * destDir, read-only, with the "app/" prefix removed. The blob is verified first.
 */
export async function extractAppLayer(oci: OciLayout, layerDigest: Digest, destDir: string): Promise<ExtractResult> {
  const file = verifyBlobFile(oci, layerDigest);
  return extractTar(file, path.resolve(destDir), { stripPrefix: 'app/', readOnly: true });
}

/** Where an app layer's files are (or will be) extracted: what a plan names before any extraction. */
export function appDirOf(kilnDir: string, layerDigest: string): string {
  return path.join(kilnDir, 'apps', layerDigest.replace(/^sha256:/, ''));
}

/**
 * The read-only files of an app layer at <kilnDir>/apps/<hex>, extracted once and shared by
 * every server started from it. Extracted beside the final path and renamed into place, so a
 * crash never leaves a half-extracted app under the final name. Returns the directory.
 */
export async function materializeApp(oci: OciLayout, layerDigest: Digest, kilnDir: string): Promise<string> {
  const final = appDirOf(kilnDir, layerDigest);
  const appsDir = path.dirname(final);
  if (fs.existsSync(final)) return final;
  fs.mkdirSync(appsDir, { recursive: true });
  const tmp = tempPathFor(final);
  try {
    await extractAppLayer(oci, layerDigest, tmp);
    // Read-only for everyone who may enter apps/ (servers run as their own users: docs/isolation.md).
    fs.chmodSync(tmp, 0o555);
    fs.renameSync(tmp, final);
    fsyncDir(appsDir);
  } catch (e) {
    removeReadOnlyTree(tmp);
    // Another process may have put the same app in place first: that's the same content.
    if (!fs.existsSync(final)) throw e;
  }
  return final;
}
