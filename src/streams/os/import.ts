// `import:` OS bases: an existing root-filesystem tar (optionally gzip-compressed) or an OCI
// archive (a tar of an OCI image layout, as `skopeo copy … oci-archive:x.tar` writes). Every
// blob of an OCI archive is checked against its digest, and every layer against the config's
// diff_ids, before anything is used: a mismatch is an INPUT_INVALID error naming the input
// and the blob. The result is the merged tree for rootfs-layer.ts.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { inputError, indexTar, uncompressedTar, type IndexedEntry } from '../../image/tar-index.js';
import { mergeLayers } from '../../image/rootfs-layer.js';

export interface ImportedTree {
  tree: Map<string, IndexedEntry>;
  kind: 'rootfs-tar' | 'oci-archive';
  /** Temp files the caller removes once the layer is written. */
  cleanup: string[];
}

interface Desc {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

export async function importTree(file: string, label: string, tmpDir: string): Promise<ImportedTree> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw inputError(label, 'does not exist', 'fix the path in kiln.yaml (relative to kiln.yaml)');
  }
  if (!st.isFile()) throw inputError(label, 'is not a file', 'import takes a root-filesystem tar or an OCI archive (.tar)');
  const cleanup: string[] = [];
  try {
    const tar = await uncompressedTar(file, label, tmpDir);
    cleanup.push(...tar.cleanup);
    const entries = indexTar(tar.path, label);
    const byName = new Map(entries.map((e) => [e.name, e]));
    if (byName.has('oci-layout') && byName.has('index.json')) {
      const tree = await importOciArchive(byName, label, tmpDir, cleanup);
      return { tree, kind: 'oci-archive', cleanup };
    }
    return { tree: mergeLayers([entries]), kind: 'rootfs-tar', cleanup };
  } catch (e) {
    for (const f of cleanup) fs.rmSync(f, { force: true });
    throw e;
  }
}

function readEntry(e: IndexedEntry): Buffer {
  const fd = fs.openSync(e.file, 'r');
  try {
    const b = Buffer.alloc(e.size);
    fs.readSync(fd, b, 0, e.size, e.offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function json<T>(b: Buffer, label: string, what: string): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (e) {
    throw inputError(label, `${what} is not valid JSON (${(e as Error).message})`);
  }
}

async function importOciArchive(byName: Map<string, IndexedEntry>, label: string, tmpDir: string, cleanup: string[]): Promise<Map<string, IndexedEntry>> {
  const blobEntry = (d: Desc, what: string): IndexedEntry => {
    const m = /^sha256:([a-f0-9]{64})$/.exec(d.digest ?? '');
    if (!m) throw inputError(label, `${what} has an unsupported digest "${d.digest}"`);
    const e = byName.get(`blobs/sha256/${m[1]}`);
    if (!e || e.type !== 'file') throw inputError(label, `blob ${d.digest} (${what}) is missing from the archive`);
    return e;
  };
  const verified = (d: Desc, what: string): Buffer => {
    const b = readEntry(blobEntry(d, what));
    const actual = 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
    if (actual !== d.digest) throw digestMismatch(label, d.digest, what, actual);
    return b;
  };
  let index = json<{ manifests?: Desc[] }>(readEntry(byName.get('index.json') as IndexedEntry), label, 'index.json');
  let manifestDesc: Desc | undefined;
  for (let depth = 0; depth < 4 && !manifestDesc; depth++) {
    const list = index.manifests ?? [];
    const pick =
      list.length === 1
        ? list[0]
        : list.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === ociArch()) ?? undefined;
    if (!pick) throw inputError(label, `index.json lists ${list.length} images and none is linux/${ociArch()}`, 'export a single image (skopeo copy … oci-archive:file.tar)');
    if (pick.mediaType === 'application/vnd.oci.image.index.v1+json') index = json(verified(pick, 'image index'), label, `image index ${pick.digest}`);
    else manifestDesc = pick;
  }
  if (!manifestDesc) throw inputError(label, 'image indexes nest too deeply');
  const manifest = json<{ config?: Desc; layers?: Desc[] }>(verified(manifestDesc, 'image manifest'), label, `manifest ${manifestDesc.digest}`);
  if (!manifest.config || !Array.isArray(manifest.layers)) throw inputError(label, `manifest ${manifestDesc.digest} is not an OCI image manifest`);
  const config = json<{ rootfs?: { diff_ids?: string[] } }>(verified(manifest.config, 'image config'), label, 'the image config');
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw inputError(label, `the config lists ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
  }
  const layers: IndexedEntry[][] = [];
  for (const [i, d] of manifest.layers.entries()) {
    const what = `layer ${i + 1} of ${manifest.layers.length}`;
    const out = path.join(tmpDir, `kiln-oci-layer-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tar`);
    cleanup.push(out);
    const { blobDigest, diffId } = await copyLayer(blobEntry(d, what), out, label, what);
    if (blobDigest !== d.digest) throw digestMismatch(label, d.digest, what, blobDigest);
    if (diffId !== diffIds[i]) throw inputError(label, `${what} uncompresses to ${diffId}, but the config says its diff_id is ${diffIds[i]}`);
    layers.push(indexTar(out, `${label} (${what})`));
  }
  return mergeLayers(layers);
}

function digestMismatch(label: string, expected: string, what: string, actual: string): Error {
  return inputError(label, `blob ${expected} (${what}) does not match its digest: its content hashes to ${actual}`, 'the archive is damaged or was altered; export it again');
}

function ociArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** Copy a layer blob out of the archive, hashing the blob and (after gunzip) the tar. */
async function copyLayer(e: IndexedEntry, out: string, label: string, what: string): Promise<{ blobDigest: string; diffId: string }> {
  const blobHash = crypto.createHash('sha256');
  const tarHash = crypto.createHash('sha256');
  const head = Buffer.alloc(2);
  const fd = fs.openSync(e.file, 'r');
  fs.readSync(fd, head, 0, 2, e.offset);
  fs.closeSync(fd);
  const gz = e.size >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const tap = (h: crypto.Hash): Transform =>
    new Transform({
      transform(c: Buffer, _e, cb) {
        h.update(c);
        cb(null, c);
      },
    });
  const src = e.size === 0 ? fs.createReadStream('/dev/null') : fs.createReadStream(e.file, { start: e.offset, end: e.offset + e.size - 1 });
  try {
    if (gz) await pipeline(src, tap(blobHash), zlib.createGunzip(), tap(tarHash), fs.createWriteStream(out, { mode: 0o600 }));
    else await pipeline(src, tap(blobHash), tap(tarHash), fs.createWriteStream(out, { mode: 0o600 }));
  } catch (err) {
    throw inputError(label, `${what} could not be read (${(err as Error).message})`);
  }
  return { blobDigest: 'sha256:' + blobHash.digest('hex'), diffId: 'sha256:' + tarHash.digest('hex') };
}
