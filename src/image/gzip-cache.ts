// Compressed layer blobs, made once per diff_id and remembered: a gzip stream depends on the
// zlib build and its CPU-specific code paths, so compressing the same tar on two machines (or
// two Node versions) may give different bytes. Identity stays the uncompressed diff_id; the
// compressed digest is whatever the first compression produced, cached in
// .kiln/cache/gzip/<hex>.json, so re-building an image never changes its manifest digest.
//
// determinism: Node writes a fixed gzip header (mtime 0, no file name, OS byte fixed by the
// zlib build), level fixed at 6.
//
// Kiln's layout stores layers uncompressed by default: podman, skopeo and umoci read them as
// they are, diff_id == blob digest (the app tag's blob *is* the image layer, no copy), and
// gzip of a 170 MB rootfs costs seconds of CPU per build (bench/image-layer.js measures it).
// Compression matters only when pushing to a remote registry: `--compress gzip`.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Digest } from '../release/types.js';
import { verifyBlobFile, type OciLayout } from '../store/oci-layout.js';
import { ensureDir, fsyncDir, tempPathFor, writeFileAtomic } from '../store/atomic.js';
import { canonicalJson } from '../util/canonical-json.js';

export const GZIP_LEVEL = 6;

export async function gzipLayer(oci: OciLayout, kilnDir: string, diffId: Digest): Promise<{ digest: Digest; size: number }> {
  const cacheDir = path.join(kilnDir, 'cache', 'gzip');
  const record = path.join(cacheDir, diffId.replace(/^sha256:/, '') + '.json');
  try {
    const r = JSON.parse(fs.readFileSync(record, 'utf8')) as { digest: Digest; size: number };
    if (oci.hasBlob(r.digest)) return r;
  } catch {
    /* not cached yet */
  }
  const src = verifyBlobFile(oci, diffId);
  const blobs = path.dirname(oci.blobPath(diffId));
  const tmp = tempPathFor(path.join(blobs, 'gzip'));
  const hash = crypto.createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(fs.createReadStream(src), zlib.createGzip({ level: GZIP_LEVEL }), tap, fs.createWriteStream(tmp, { mode: 0o400 }));
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const fd = fs.openSync(tmp, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const digest: Digest = 'sha256:' + hash.digest('hex');
  const final = oci.blobPath(digest);
  if (fs.existsSync(final)) fs.rmSync(tmp, { force: true });
  else {
    fs.renameSync(tmp, final);
    fsyncDir(blobs);
  }
  ensureDir(cacheDir);
  writeFileAtomic(record, canonicalJson({ digest, size }));
  return { digest, size };
}
