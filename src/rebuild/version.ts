// The tag a rebuild gives an app whose content changed: the head's version plus a suffix taken
// from the new content's digest, "1.4.2" -> "1.4.2-3f2a9c1e" -> "1.4.2-77aa1b2c" (a previous
// rebuild suffix is replaced, not stacked). Content-derived, so rebuilding the same content
// twice names it the same, and identical content is never a new tag at all (rebuild compares
// digests first). A stream with no tag yet starts at "0.0.0-<hex>".
const SUFFIX = /-[0-9a-f]{8}(\.\d+)?$/;

export function rebuildVersion(headTag: string | null, digest: string): string {
  const base = headTag ? headTag.replace(SUFFIX, '') : '0.0.0';
  return `${base}-${digest.replace(/^sha256:/, '').slice(0, 8)}`;
}
