// `kiln os build <base>`: make os/<base>:<YYYY.MM.DD>.<n> from kiln.yaml's `os.<base>`.
//   debian: mmdebstrap (minbase + include) under a fixed SOURCE_DATE_EPOCH -> rootfs tar
//   import: an existing rootfs tar or OCI archive, digests verified
// then one deterministic OS layer (rootfs-layer.ts), its bill of materials from dpkg's status,
// and a runnable OCI image manifest for the tag. Nothing is tagged unless all of that worked.
//
// Cache: the inputs (the base's spec, the mirror's Release hashes or the imported file's hash,
// the epoch, the layer format version) form a key; a key seen before is a cache hit and makes
// nothing. A build whose layer equals the stream's newest tag makes no new tag either.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { KilnError } from '../../errors.js';
import type { DebianOsSpec, OsSpec, ProjectSpec } from '../../spec/types.js';
import type { Store } from '../../store/init.js';
import { ensureDir, fsyncDir, tempPathFor, writeFileAtomic } from '../../store/atomic.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { indexTar } from '../../image/tar-index.js';
import { mergeLayers, writeRootfsLayer, type RootfsLayerResult } from '../../image/rootfs-layer.js';
import type { IndexedEntry } from '../../image/tar-index.js';
import { epochToRfc3339, writeImage } from '../../image/oci-image.js';
import { insertTag, listTags, type TagRecord, type TagSource } from '../app/tags.js';
import { mmdebstrapCommand, mmdebstrapError, osEpoch } from './mmdebstrap.js';
import { releaseHash, resolveSources } from './sources.js';
import { DPKG_STATUS, parseDpkgStatus, putBom, type Bom } from './bom.js';
import { runCommand } from './exec.js';
import { importTree } from './import.js';

/** Bump when the OS layer's byte format changes, so old cache keys stop matching. */
const LAYER_FORMAT = '1';
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What an OS tag records besides its digest (the tags table's `source` JSON). */
export interface OsTagSource {
  kind: 'debian' | 'import';
  /** Cache key of the inputs this tag was built from. */
  inputs: string;
  /** Digest of the bill-of-materials blob (bom.ts). */
  bom: string;
  packages: number;
  /** The imported file, relative to kiln.yaml (import only). */
  path?: string;
  suite?: string;
}

export interface OsBuildOptions {
  /** Build even when the inputs are unchanged (the tag is still only made for new content). */
  force?: boolean;
  onProgress?: (line: string) => void;
  /** apt configuration directory read when no mirror is configured (tests). */
  aptDir?: string;
}

export interface OsBuildResult {
  tag: TagRecord;
  /** A new tag was made. */
  created: boolean;
  /** The inputs were unchanged: nothing was built. */
  cached: boolean;
  packages: number;
  source: OsTagSource;
}

export function osStream(base: string): string {
  return `os/${base}`;
}

export function osSpecOf(spec: ProjectSpec, base: string): OsSpec {
  const o = spec.os[base];
  if (!o) {
    const known = Object.keys(spec.os);
    throw new KilnError('OS_BASE_NOT_FOUND', `${spec.file} has no OS base "${base}"`, {
      location: { file: spec.file },
      hint: known.length ? `defined bases: ${known.join(', ')}` : 'add one under "os:" (debian or import)',
    });
  }
  return o;
}

export function osTagSource(t: TagRecord): OsTagSource {
  return t.source as unknown as OsTagSource;
}

export async function buildOs(store: Store, spec: ProjectSpec, base: string, opts: OsBuildOptions = {}): Promise<OsBuildResult> {
  const os = osSpecOf(spec, base);
  const stream = osStream(base);
  const where = `os.${base}.${os.kind}`;
  const epoch = osEpoch();
  const progress = opts.onProgress ?? (() => {});
  const tmpDir = path.join(store.kilnDir, 'tmp');
  ensureDir(tmpDir);

  // 1. The cache key, and the cheap checks (mirror reachable, input file readable) first.
  let key: string;
  let sources: ReturnType<typeof resolveSources> = [];
  let importFile = '';
  if (os.kind === 'debian') {
    sources = resolveSources(os, where, opts.aptDir);
    const releases = [];
    for (const s of sources) releases.push(await releaseHash(s, where));
    key = inputsKey({ kind: 'debian', suite: os.suite, components: os.components, include: [...os.include].sort(), sources, releases, epoch });
  } else {
    importFile = path.resolve(spec.dir, os.from);
    key = inputsKey({ kind: 'import', file: await fileHash(importFile, where), epoch });
  }
  const cache = readCache(store.kilnDir, base);
  const hit = cache[key];
  if (!opts.force && hit) {
    const tag = listTags(store.db, stream).find((t) => t.tag === hit);
    if (tag && store.oci.hasBlob(tag.digest)) {
      const source = osTagSource(tag);
      return { tag, created: false, cached: true, packages: source.packages, source };
    }
  }

  // 2. The root filesystem tree.
  const cleanup: string[] = [];
  let layer: RootfsLayerResult | undefined;
  try {
    let tree: Map<string, IndexedEntry>;
    if (os.kind === 'debian') {
      const raw = path.join(tmpDir, `mmdebstrap-${process.pid}-${crypto.randomBytes(4).toString('hex')}.tar`);
      cleanup.push(raw);
      const cmd = mmdebstrapCommand(os as DebianOsSpec, sources, raw, epoch);
      progress(`$ ${cmd.argv.join(' ')}`);
      const r = await runCommand(cmd, (l) => progress(`  | ${l}`));
      if (r.code !== 0) throw mmdebstrapError(where, os as DebianOsSpec, r.stderr, r.code);
      tree = mergeLayers([indexTar(raw, `${where} (mmdebstrap output)`)]);
    } else {
      const imported = await importTree(importFile, `${os.from} (${where})`, tmpDir);
      cleanup.push(...imported.cleanup);
      tree = imported.tree;
    }
    // 3. The layer, written straight into the blob directory and renamed to its digest.
    const blobDir = path.dirname(store.oci.blobPath('sha256:' + '0'.repeat(64)));
    layer = writeRootfsLayer(tree, where, { outFile: tempPathFor(path.join(blobDir, 'os-layer')), capture: [DPKG_STATUS] });
    cleanup.push(layer.path);
    progress(`layer ${layer.digest} (${layer.entries} entries, ${layer.size} bytes${layer.dropped ? `, ${layer.dropped} device nodes left out` : ''})`);
  } catch (e) {
    for (const f of cleanup) fs.rmSync(f, { force: true });
    throw e;
  }
  for (const f of cleanup.slice(0, -1)) fs.rmSync(f, { force: true });
  adoptBlob(store, layer.path, layer.digest);

  // 4. Bill of materials, image manifest, tag.
  const status = layer.captured.get(DPKG_STATUS);
  const bom: Bom = status ? parseDpkgStatus(status.toString('utf8')) : { schema: 'kiln.os.bom.v1', packages: {} };
  const bomDigest = putBom(store.oci, bom);
  const image = await writeImage(store.oci, {
    layers: [{ diffId: layer.digest, size: layer.size, createdBy: `kiln os build ${base} (${os.kind})` }],
    run: { Env: [DEFAULT_PATH], Labels: { 'dev.kiln.os.base': base, 'dev.kiln.os.bom': bomDigest } },
    annotations: { 'org.opencontainers.image.created': epochToRfc3339(epoch) },
    created: epochToRfc3339(epoch),
  });
  const source: OsTagSource = {
    kind: os.kind,
    inputs: key,
    bom: bomDigest,
    packages: Object.keys(bom.packages).length,
    ...(os.kind === 'import' ? { path: os.from } : { suite: os.suite }),
  };
  const newest = listTags(store.db, stream).at(-1);
  let result: OsBuildResult;
  if (newest && newest.digest === layer.digest && newest.manifestDigest === image.manifest.digest) {
    result = { tag: newest, created: false, cached: false, packages: source.packages, source };
  } else {
    const r = insertTag(store.db, {
      stream,
      tag: nextTagName(store, stream),
      digest: layer.digest,
      size: layer.size,
      manifestDigest: image.manifest.digest,
      // The tags table keeps each stream's own source shape as JSON.
      source: source as unknown as TagSource,
    });
    result = { tag: r.tag, created: r.created, cached: false, packages: source.packages, source };
  }
  store.oci.setRef(`${stream}:${result.tag.tag}`, image.manifest);
  writeCache(store.kilnDir, base, { ...cache, [key]: result.tag.tag });
  return result;
}

/** <YYYY.MM.DD>.<n>: today's date (UTC) and the next free number for it. */
function nextTagName(store: Store, stream: string): string {
  const d = new Date();
  const day = `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}.${String(d.getUTCDate()).padStart(2, '0')}`;
  const used = listTags(store.db, stream).filter((t) => t.tag.startsWith(day + '.')).map((t) => Number(t.tag.slice(day.length + 1)));
  return `${day}.${Math.max(0, ...used.filter(Number.isFinite)) + 1}`;
}

function inputsKey(v: unknown): string {
  return 'sha256:' + crypto.createHash('sha256').update(canonicalJson({ format: LAYER_FORMAT, v })).digest('hex');
}

async function fileHash(file: string, where: string): Promise<string> {
  const h = crypto.createHash('sha256');
  try {
    for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError('INPUT_INVALID', `${where}: cannot read ${file} (${code ?? (e as Error).message})`, {
      hint: 'fix the path in kiln.yaml (relative to kiln.yaml)',
    });
  }
  return 'sha256:' + h.digest('hex');
}

/** Move a fully written, fsynced layer file into the blob store under its digest. */
function adoptBlob(store: Store, tmp: string, digest: string): void {
  const final = store.oci.blobPath(digest);
  if (fs.existsSync(final)) {
    fs.rmSync(tmp, { force: true });
    return;
  }
  fs.chmodSync(tmp, 0o400);
  fs.renameSync(tmp, final);
  fsyncDir(path.dirname(final));
}

type OsCache = Record<string, string>;

function cacheFile(kilnDir: string, base: string): string {
  return path.join(kilnDir, 'cache', 'os', `${base}.json`);
}

function readCache(kilnDir: string, base: string): OsCache {
  try {
    return JSON.parse(fs.readFileSync(cacheFile(kilnDir, base), 'utf8')) as OsCache;
  } catch {
    return {};
  }
}

function writeCache(kilnDir: string, base: string, c: OsCache): void {
  ensureDir(path.dirname(cacheFile(kilnDir, base)));
  writeFileAtomic(cacheFile(kilnDir, base), canonicalJson(c));
}
