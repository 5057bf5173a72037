// `kiln verify <release>`: rebuild every image of a release from the tags it was built from
// and compare digests. Equal digests prove the image is exactly what those tags give (nothing
// was altered in the store, the build is reproducible); a difference is reported layer by
// layer and field by field. Blobs are re-hashed on the way, so store damage shows up too.
import type { Digest, ReleaseRecord, ReleaseService } from '../release/types.js';
import { KilnError } from '../errors.js';
import type { Store } from '../store/init.js';
import { getTag } from '../streams/app/tags.js';
import { buildImageFrom, readImage, verifyImageBlobs } from './service-image.js';

export interface ServiceVerification {
  service: string;
  /** The image the release (or, before releases record images, the app tag's ref) names. */
  expected?: Digest;
  /** The digest of the rebuild. */
  actual?: Digest;
  ok: boolean;
  /** Human-readable differences; empty when ok. */
  differences: string[];
  /** Why nothing was compared (a service without an OS base runs on the process runtime only). */
  note?: string;
}

export interface VerifyResult {
  release: string;
  ok: boolean;
  services: ServiceVerification[];
}

/** A release service as written once releases record their images (see the report). */
type WithImage = ReleaseService & { image?: { digest: Digest } };

export async function verifyRelease(store: Store, release: ReleaseRecord): Promise<VerifyResult> {
  const services: ServiceVerification[] = [];
  for (const [name, svc] of Object.entries(release.manifest.services).sort(([a], [b]) => (a < b ? -1 : 1))) {
    services.push(await verifyService(store, release.manifest.project, name, svc as WithImage));
  }
  return { release: release.manifest.name, ok: services.every((s) => s.ok), services };
}

async function verifyService(store: Store, project: string, service: string, svc: WithImage): Promise<ServiceVerification> {
  const v: ServiceVerification = { service, ok: false, differences: [] };
  const appRef = `${svc.app.stream}:${svc.app.tag}`;
  const expected = svc.image?.digest ?? store.oci.getRef(`image/${service}:${svc.app.tag}`)?.digest;
  if (!expected) {
    if (!svc.os) return { ...v, ok: true, note: 'no OS base: no image (process runtime only)' };
    return { ...v, differences: [`no image of ${appRef} in the store; run \`kiln image build ${service} --app-tag ${svc.app.tag}\``] };
  }
  v.expected = expected;
  try {
    verifyImageBlobs(store.oci, expected);
    const img = readImage(store.oci, expected);
    if (img.appRef !== appRef) v.differences.push(`image was built from ${img.appRef}, the release has ${appRef}`);
    const app = getTag(store.db, svc.app.stream, svc.app.tag);
    const [osStream, osTag] = splitRef(img.osRef);
    const os = getTag(store.db, osStream, osTag);
    if (!app) v.differences.push(`tag ${appRef} no longer exists`);
    else if (app.digest !== svc.app.digest) v.differences.push(`tag ${appRef} is ${app.digest}, the release recorded ${svc.app.digest}`);
    if (!os) v.differences.push(`tag ${img.osRef} no longer exists`);
    if (!app || !os) return v;
    // Rebuilt in the same form it was stored in (gzip blobs come from the diff_id cache).
    const compression = img.manifest.layers.some((l) => l.mediaType.endsWith('+gzip')) ? 'gzip' : 'none';
    const rebuilt = await buildImageFrom(store, { project, service, run: svc.run, app, os }, compression, false);
    v.actual = rebuilt.digest;
    if (rebuilt.digest !== expected) v.differences.push(...explain(store, expected, rebuilt.digest));
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    v.differences.push(e.message);
  }
  v.ok = v.differences.length === 0;
  return v;
}

function splitRef(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return [ref.slice(0, i), ref.slice(i + 1)];
}

/** What differs between two image manifests: annotations, config fields, layers. */
function explain(store: Store, a: Digest, b: Digest): string[] {
  const out: string[] = [`manifest ${a} != rebuilt ${b}`];
  const ma = store.oci.readManifest(a);
  const mb = store.oci.readManifest(b);
  const ca = JSON.parse(store.oci.readBlob(ma.config.digest).toString('utf8')) as Record<string, unknown>;
  const cb = JSON.parse(store.oci.readBlob(mb.config.digest).toString('utf8')) as Record<string, unknown>;
  const diffs = (x: Record<string, unknown>, y: Record<string, unknown>, at: string): void => {
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      const vx = JSON.stringify(x[k]);
      const vy = JSON.stringify(y[k]);
      if (vx !== vy) out.push(`${at}${k}: ${vx ?? '(none)'} -> ${vy ?? '(none)'}`);
    }
  };
  diffs((ma.annotations ?? {}) as Record<string, unknown>, (mb.annotations ?? {}) as Record<string, unknown>, 'annotation ');
  diffs((ca['config'] ?? {}) as Record<string, unknown>, (cb['config'] ?? {}) as Record<string, unknown>, 'config.');
  const la = ma.layers.map((l) => l.digest);
  const lb = mb.layers.map((l) => l.digest);
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) out.push(`layer ${i + 1}: ${la[i] ?? '(none)'} -> ${lb[i] ?? '(none)'}`);
  }
  return out;
}
