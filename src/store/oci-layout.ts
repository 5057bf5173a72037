// .kiln/oci: an OCI image layout (image-spec v1.1 "image-layout.md") used as Kiln's
// content-addressed store. Blobs are named by the sha256 of their bytes and written
// atomically; named refs ("app/api:1.0.0", "release/r3") are manifest descriptors in
// index.json carrying the org.opencontainers.image.ref.name annotation, so podman and
// skopeo read the store as it is (`skopeo inspect --raw oci:.kiln/oci:app/api:1.0.0`).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { KilnError } from '../errors.js';
import type { Digest } from '../release/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import { ensureDir, fsyncDir, tempPathFor, writeFileAtomic } from './atomic.js';
import { withFileLock } from './lock.js';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  empty: 'application/vnd.oci.empty.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  appArtifact: 'application/vnd.kiln.app.v1',
  releaseArtifact: 'application/vnd.kiln.release.v1',
  releaseJson: 'application/vnd.kiln.release.v1+json',
} as const;

export const REF_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  /** Small blobs may be embedded (base64); the OCI empty descriptor does this. */
  data?: string;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType: typeof MEDIA.manifest;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

interface OciIndex {
  schemaVersion: 2;
  mediaType: typeof MEDIA.index;
  manifests: Descriptor[];
}

/** The OCI "empty" descriptor: the two-byte blob `{}`, used as config of artifacts. */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MEDIA.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

export function sha256Digest(data: Buffer | string): Digest {
  return 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');
}

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export class OciLayout {
  readonly dir: string;
  /** How long setRef waits for another live process's lock on index.json (default: lock.ts's). */
  lockWaitMs: number | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Create the layout if needed (idempotent) and open it. */
  static init(dir: string): OciLayout {
    ensureDir(path.join(dir, 'blobs', 'sha256'), 0o700);
    const marker = path.join(dir, 'oci-layout');
    if (!fs.existsSync(marker)) writeFileAtomic(marker, canonicalJson({ imageLayoutVersion: '1.0.0' }));
    const index = path.join(dir, 'index.json');
    if (!fs.existsSync(index)) writeFileAtomic(index, canonicalJson(emptyIndex()));
    const layout = new OciLayout(dir);
    layout.putBlob(EMPTY_JSON);
    return layout;
  }

  /** Open an existing layout; a missing marker file means the store is damaged. */
  static open(dir: string): OciLayout {
    if (!fs.existsSync(path.join(dir, 'oci-layout'))) {
      throw new KilnError('CORRUPT_STORE', `${dir} is not an OCI image layout (no oci-layout file)`, {
        hint: 'run `kiln init` to repair the store',
      });
    }
    return new OciLayout(dir);
  }

  blobPath(digest: Digest): string {
    const m = DIGEST_RE.exec(digest);
    if (!m) throw new Error(`not a sha256 digest: ${digest}`);
    return path.join(this.dir, 'blobs', 'sha256', m[1] as string);
  }

  hasBlob(digest: Digest): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  putBlob(data: Buffer): { digest: Digest; size: number } {
    const digest = sha256Digest(data);
    const file = this.blobPath(digest);
    // Content addressing: an existing blob with this name already holds these bytes.
    if (!fs.existsSync(file)) writeFileAtomic(file, data, 0o400);
    return { digest, size: data.length };
  }

  /** Copy a (possibly large) file into the store, hashing while streaming. */
  async putBlobFromFile(src: string): Promise<{ digest: Digest; size: number }> {
    const dir = path.join(this.dir, 'blobs', 'sha256');
    const tmp = tempPathFor(path.join(dir, 'incoming'));
    const hash = crypto.createHash('sha256');
    let size = 0;
    const fd = fs.openSync(tmp, 'wx', 0o400);
    try {
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          try {
            // writeSync may write less than asked (a nearly full disk): loop, or the blob is short.
            for (let off = 0; off < chunk.length; ) off += fs.writeSync(fd, chunk, off);
            cb();
          } catch (e) {
            cb(e as Error);
          }
        },
      });
      await pipeline(fs.createReadStream(src), sink);
      fs.fsyncSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    const digest = 'sha256:' + hash.digest('hex');
    const file = this.blobPath(digest);
    if (fs.existsSync(file)) {
      fs.rmSync(tmp, { force: true });
    } else {
      fs.renameSync(tmp, file);
      fsyncDir(dir);
    }
    return { digest, size };
  }

  /** The blob's bytes, checked against its digest: a damaged store is reported, never used. */
  readBlob(digest: Digest): Buffer {
    const file = this.blobPath(digest);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new KilnError('CORRUPT_STORE', `blob ${digest} is missing from ${this.dir}`, {
          hint: 'the store was damaged; re-create the tag or release that needs it',
        });
      }
      throw e;
    }
    const actual = sha256Digest(data);
    if (actual !== digest) {
      throw new KilnError('CORRUPT_STORE', `blob ${digest} in ${this.dir} is corrupted (its content hashes to ${actual})`, {
        hint: 'remove the damaged file and re-create the tag or release that needs it',
      });
    }
    return data;
  }

  /** Store a manifest as canonical JSON and return its descriptor. */
  putManifest(manifest: OciManifest): Descriptor {
    const { digest, size } = this.putBlob(Buffer.from(canonicalJson(manifest)));
    return {
      mediaType: MEDIA.manifest,
      digest,
      size,
      ...(manifest.artifactType ? { artifactType: manifest.artifactType } : {}),
    };
  }

  /** An artifact manifest: the OCI empty config and the given layers (blobs already stored). */
  putArtifact(artifactType: string, layers: Descriptor[], annotations?: Record<string, string>): Descriptor {
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      artifactType,
      config: EMPTY_DESCRIPTOR,
      layers,
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    };
    return this.putManifest(manifest);
  }

  readManifest(digest: Digest): OciManifest {
    const raw = this.readBlob(digest);
    try {
      const m = JSON.parse(raw.toString('utf8')) as OciManifest;
      if (m.schemaVersion !== 2 || !Array.isArray(m.layers)) throw new Error('not an OCI image manifest');
      return m;
    } catch (e) {
      throw new KilnError('CORRUPT_STORE', `blob ${digest} is not a readable OCI manifest: ${(e as Error).message}`);
    }
  }

  /** Point `refName` at a manifest; replaces an earlier ref of the same name. */
  setRef(refName: string, descriptor: Descriptor): void {
    const indexPath = path.join(this.dir, 'index.json');
    // Read-modify-write of index.json under a lock so two kiln processes don't lose a ref.
    withFileLock(indexPath + '.lock', () => {
      const index = this.readIndex();
      const entry: Descriptor = {
        ...descriptor,
        annotations: { ...(descriptor.annotations ?? {}), [REF_ANNOTATION]: refName },
      };
      const others = index.manifests.filter((d) => d.annotations?.[REF_ANNOTATION] !== refName);
      // Sorted by ref name: the same set of refs always gives the same index.json.
      const manifests = [...others, entry].sort((a, b) => cmp(refOf(a), refOf(b)));
      writeFileAtomic(indexPath, canonicalJson({ ...index, manifests }));
    }, { what: `the OCI index ${indexPath}`, ...(this.lockWaitMs !== undefined ? { waitMs: this.lockWaitMs } : {}) });
  }

  getRef(refName: string): Descriptor | undefined {
    return this.readIndex().manifests.find((d) => d.annotations?.[REF_ANNOTATION] === refName);
  }

  listRefs(prefix = ''): Array<{ ref: string; descriptor: Descriptor }> {
    return this.readIndex()
      .manifests.filter((d) => refOf(d).startsWith(prefix) && refOf(d) !== '')
      .map((d) => ({ ref: refOf(d), descriptor: d }));
  }

  private readIndex(): OciIndex {
    const file = path.join(this.dir, 'index.json');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
      throw e;
    }
    try {
      const idx = JSON.parse(text) as OciIndex;
      if (!Array.isArray(idx.manifests)) throw new Error('no manifests array');
      return idx;
    } catch (e) {
      throw new KilnError('CORRUPT_STORE', `${file} is not a valid OCI index: ${(e as Error).message}`);
    }
  }
}

function emptyIndex(): OciIndex {
  return { schemaVersion: 2, mediaType: MEDIA.index, manifests: [] };
}

function refOf(d: Descriptor): string {
  return d.annotations?.[REF_ANNOTATION] ?? '';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Check a (possibly large) blob against its digest without loading it whole; a damaged or
 * missing blob is a CORRUPT_STORE KilnError. Returns the blob's path.
 */
export function verifyBlobFile(oci: OciLayout, digest: Digest): string {
  const file = oci.blobPath(digest);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KilnError('CORRUPT_STORE', `blob ${digest} is missing from ${oci.dir}`, {
        hint: 'the store was damaged; re-create the tag or release that needs it',
      });
    }
    throw e;
  }
  const hash = crypto.createHash('sha256');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  const actual = 'sha256:' + hash.digest('hex');
  if (actual !== digest) {
    throw new KilnError('CORRUPT_STORE', `blob ${digest} in ${oci.dir} is corrupted (its content hashes to ${actual})`, {
      hint: 'remove the damaged file and re-create the tag or release that needs it',
    });
  }
  return file;
}
