// `kiln rebuild`: every stream brought up to date from its inputs, then one release if anything
// changed (ARCHITECTURE.md: "Rebuild the world" is an ordinary command, fast because everything
// is cached by content).
//   1. OS bases: buildOs, a cache hit when the inputs (and the mirror's Release files) are unchanged,
//      and a new tag only when the content (the package set) changed;
//   2. apps: rebuilt from source unless the source key (source-key.ts) equals the head's; a build
//      with the head's content is no new tag; other content is tagged <head>-<hex> (version.ts);
//   3. images: rebuilt when their app tag, OS tag or run command changed;
//   4. a release, unless its content equals the latest release's (then none, and it says so).
import crypto from 'node:crypto';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { buildServiceImage } from '../image/index.js';
import { createRelease } from '../release/index.js';
import type { ReleaseImage, ReleaseRecord } from '../release/types.js';
import { buildEnvironmentFor } from '../runtime/podman/build-in-os.js';
import type { ProjectSpec } from '../spec/types.js';
import type { Store } from '../store/init.js';
import { appStream, appTagSource, buildApp, getTag, listTags, tagApp } from '../streams/app/index.js';
import type { TagSource } from '../streams/app/tags.js';
import { changelogHead } from '../streams/data/index.js';
import { buildOs, osStream } from '../streams/os/index.js';
import { readRebuildCache, writeRebuildCache } from './cache.js';
import { sourceKey } from './source-key.js';
import { rebuildVersion } from './version.js';

export interface RebuildEvent {
  kind: string;
  /** The stream it is about ("os/bookworm", "app/api", "image/api"), or "release". */
  stream: string;
  message: string;
  changed?: boolean;
}

export interface RebuildResult {
  os: Array<{ base: string; tag: string; changed: boolean }>;
  apps: Array<{ service: string; tag: string; changed: boolean; built: boolean }>;
  images: Array<{ service: string; digest: string; changed: boolean }>;
  release: { name: string; digest: string; created: boolean };
  /** Whether anything got a new tag, image or release. */
  changed: boolean;
}

export interface RebuildOptions {
  onEvent?: (e: RebuildEvent) => void;
  /** Lines of build commands and OS builds. */
  onLine?: (stream: string, line: string) => void;
}

const hash = (v: unknown): string => 'sha256:' + crypto.createHash('sha256').update(JSON.stringify(v)).digest('hex');

export async function rebuildWorld(store: Store, spec: ProjectSpec, opts: RebuildOptions = {}): Promise<RebuildResult> {
  const emit = (e: RebuildEvent): void => opts.onEvent?.(e);
  const line = (stream: string) => (l: string): void => opts.onLine?.(stream, l);
  const cache = readRebuildCache(store.kilnDir);

  // 1. OS bases.
  const os: RebuildResult['os'] = [];
  for (const base of Object.keys(spec.os).sort()) {
    const stream = osStream(base);
    const r = await buildOs(store, spec, base, { onProgress: line(stream) });
    os.push({ base, tag: r.tag.tag, changed: r.created });
    emit({ kind: 'os', stream, changed: r.created, message: r.created ? `${stream}: new tag ${r.tag.tag} (${r.packages} packages)` : `${stream}:${r.tag.tag} unchanged${r.cached ? ' (inputs unchanged)' : ' (same packages)'}` });
  }

  // 2. Apps.
  const podmanEnv = Object.values(spec.environments).some((e) => e.runtime === 'podman');
  const apps: RebuildResult['apps'] = [];
  for (const service of Object.keys(spec.services).sort()) {
    const svc = spec.services[service]!;
    const stream = appStream(service);
    const head = listTags(store.db, stream).at(-1);
    const osHead = svc.os ? listTags(store.db, osStream(svc.os)).at(-1) : undefined;
    const buildsIn = svc.os && svc.app.build?.length && podmanEnv && osHead ? `${osHead.stream}:${osHead.tag}` : null;
    const key = sourceKey(path.resolve(spec.dir, svc.app.path), svc, buildsIn);
    const known = cache.apps[service];
    if (head && known && known.key === key && known.digest === head.digest) {
      apps.push({ service, tag: head.tag, changed: false, built: false });
      emit({ kind: 'app', stream, changed: false, message: `${stream}:${head.tag} unchanged (source unchanged)` });
      continue;
    }
    const buildIn = await buildEnvironmentFor(store, spec, service);
    const built = await buildApp(spec, service, { kilnDir: store.kilnDir, onProgress: line(stream), ...(buildIn ? { buildIn } : {}) });
    if (head && head.digest === built.digest) {
      cache.apps[service] = { key, digest: built.digest };
      writeRebuildCache(store.kilnDir, cache);
      apps.push({ service, tag: head.tag, changed: false, built: true });
      emit({ kind: 'app', stream, changed: false, message: `${stream}:${head.tag} unchanged (rebuilt: same content)` });
      continue;
    }
    const source: TagSource = appTagSource(svc, buildIn?.describe);
    const tag = tagApp(store.db, store.oci, service, freeVersion(store, stream, head?.tag ?? null, built.digest), built, source).tag;
    cache.apps[service] = { key, digest: built.digest };
    writeRebuildCache(store.kilnDir, cache);
    apps.push({ service, tag: tag.tag, changed: true, built: true });
    emit({ kind: 'app', stream, changed: true, message: `${stream}: new tag ${tag.tag} (${built.digest.slice(0, 19)}${head ? `, was ${head.tag}` : ''})` });
  }

  // 3. Images of services with an OS base that has a tag.
  const images: Record<string, ReleaseImage> = {};
  const imageRows: RebuildResult['images'] = [];
  for (const service of Object.keys(spec.services).sort()) {
    const svc = spec.services[service]!;
    if (!svc.os) continue;
    const osHead = listTags(store.db, osStream(svc.os)).at(-1);
    const appHead = listTags(store.db, appStream(service)).at(-1);
    if (!osHead || !appHead) continue;
    const stream = `image/${service}`;
    const key = hash({ project: spec.project, run: svc.app.run, app: [appHead.tag, appHead.digest], os: [osHead.tag, osHead.manifestDigest] });
    const known = cache.images[service];
    let img: ReleaseImage;
    let changed: boolean;
    if (known && known.key === key && store.oci.hasBlob(known.digest)) {
      img = { digest: known.digest, ref: known.ref, os: { stream: osHead.stream, tag: osHead.tag, digest: osHead.digest } };
      changed = false;
    } else {
      const r = await buildServiceImage(store, spec, service);
      img = { digest: r.digest, ref: r.ref, os: { stream: r.os.stream, tag: r.os.tag, digest: r.os.digest } };
      changed = known?.digest !== r.digest;
      cache.images[service] = { key, digest: r.digest, ref: r.ref };
    }
    images[service] = img;
    imageRows.push({ service, digest: img.digest, changed });
    emit({ kind: 'image', stream, changed, message: changed ? `${stream}: new image ${img.digest.slice(0, 19)}` : `${stream}: ${img.digest.slice(0, 19)} unchanged` });
  }
  writeRebuildCache(store.kilnDir, cache);

  // 4. The release.
  const r = createRelease(store.db, store.oci, spec, images, { data: changelogHead(spec) });
  const rec: ReleaseRecord = 'unchanged' in r ? r.unchanged : r;
  const created = !('unchanged' in r);
  emit({
    kind: 'release',
    stream: 'release',
    changed: created,
    message: created ? `release ${rec.name} created (parent ${rec.manifest.parent ?? 'none'})` : `nothing changed since ${rec.name}: no new release`,
  });
  const changed = created || os.some((o) => o.changed) || apps.some((a) => a.changed) || imageRows.some((i) => i.changed);
  return { os, apps, images: imageRows, release: { name: rec.name, digest: rec.digest, created }, changed };
}

/** rebuildVersion, or with ".<n>" when that name is taken by other content (e.g. a revert). */
function freeVersion(store: Store, stream: string, head: string | null, digest: string): string {
  const v = rebuildVersion(head, digest);
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? v : `${v}.${n}`;
    if (!getTag(store.db, stream, name)) return name;
  }
  throw new KilnError('TAG_CONFLICT', `no free rebuild tag for ${stream} after ${v}`);
}
