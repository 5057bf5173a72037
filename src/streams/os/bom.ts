// An OS tag's bill of materials: package name -> version, read from var/lib/dpkg/status inside
// the root filesystem (installed packages only), and the difference between two of them.
import type { Digest } from '../../release/types.js';
import type { OciLayout } from '../../store/oci-layout.js';
import { canonicalJson } from '../../util/canonical-json.js';

export const DPKG_STATUS = 'var/lib/dpkg/status';

export interface Bom {
  schema: 'kiln.os.bom.v1';
  /** name -> version; "name:arch" for a foreign-architecture package. */
  packages: Record<string, string>;
}

export function parseDpkgStatus(text: string): Bom {
  const pkgs: Array<[string, string]> = [];
  const arches = new Map<string, number>();
  const stanzas = text.split(/\n\s*\n/).map((s) => {
    const f = new Map<string, string>();
    for (const l of s.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(l);
      if (m) f.set(m[1] as string, m[2] as string);
    }
    return f;
  });
  for (const f of stanzas) if (f.get('Architecture')) arches.set(f.get('Architecture') as string, (arches.get(f.get('Architecture') as string) ?? 0) + 1);
  // The native architecture is the most common non-"all" one.
  const native = [...arches].filter(([a]) => a !== 'all').sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const f of stanzas) {
    const name = f.get('Package');
    const version = f.get('Version');
    if (!name || !version) continue;
    if (!/\binstalled$/.test(f.get('Status') ?? '')) continue;
    const arch = f.get('Architecture');
    pkgs.push([arch && arch !== 'all' && arch !== native ? `${name}:${arch}` : name, version]);
  }
  pkgs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { schema: 'kiln.os.bom.v1', packages: Object.fromEntries(pkgs) };
}

export function putBom(oci: OciLayout, bom: Bom): Digest {
  return oci.putBlob(Buffer.from(canonicalJson(bom))).digest;
}

export function readBom(oci: OciLayout, digest: Digest): Bom {
  return JSON.parse(oci.readBlob(digest).toString('utf8')) as Bom;
}

export interface BomDiff {
  added: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
  /** Version changed (up or down: "upgraded" in the common case). */
  changed: Array<{ name: string; from: string; to: string }>;
}

export function diffBom(a: Bom, b: Bom): BomDiff {
  const out: BomDiff = { added: [], removed: [], changed: [] };
  for (const [name, version] of Object.entries(b.packages)) {
    const old = a.packages[name];
    if (old === undefined) out.added.push({ name, version });
    else if (old !== version) out.changed.push({ name, from: old, to: version });
  }
  for (const [name, version] of Object.entries(a.packages)) if (!(name in b.packages)) out.removed.push({ name, version });
  return out;
}
