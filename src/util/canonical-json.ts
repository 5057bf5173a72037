// Canonical JSON: object keys sorted by code unit order, no whitespace, so equal values always
// serialize to equal bytes and therefore to equal digests (release manifests, OCI manifests).
// Values JSON can't represent faithfully (undefined inside arrays, NaN, Infinity, functions,
// bigint) are internal bugs, not user errors: they throw.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(v: unknown, at: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new Error(`canonicalJson: non-finite number at ${at}`);
      return JSON.stringify(v);
    case 'string':
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) {
        return '[' + v.map((x, i) => {
          if (x === undefined) throw new Error(`canonicalJson: undefined at ${at}[${i}]`);
          return encode(x, `${at}[${i}]`);
        }).join(',') + ']';
      }
      const obj = v as Record<string, unknown>;
      // Keys with undefined values are dropped, as JSON.stringify does, so optional fields
      // that are absent and fields set to undefined give the same bytes.
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareCodeUnits);
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + encode(obj[k], `${at}.${k}`)).join(',') + '}';
    }
    default:
      throw new Error(`canonicalJson: cannot encode ${typeof v} at ${at}`);
  }
}

/** Plain < on strings compares UTF-16 code units: stable across locales, unlike localeCompare. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
