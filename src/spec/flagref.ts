// `${...}` references in flag values, parsed in one place so the loader (which checks them) and
// the deploy renderer (which expands them) can never disagree on the syntax.
//   ${port}  ${log.file}  ${env}  ${release}
//   ${cluster.<service>-<role>.url}  ${data.<store>.url}  ${secret.<name>}
// `$$` is a literal `$`; a `$` not followed by `{` or `$` is literal too.

export type FlagRef =
  | { kind: 'port' }
  | { kind: 'log.file' }
  | { kind: 'env' }
  | { kind: 'release' }
  /** `target` is "<service>-<role>" as written; see resolveClusterTarget. */
  | { kind: 'cluster'; target: string }
  | { kind: 'data'; store: string }
  | { kind: 'secret'; name: string };

export type TemplatePart = { text: string } | { ref: FlagRef; source: string };

export const FLAG_REFERENCE_FORMS: readonly string[] = [
  '${port}',
  '${log.file}',
  '${env}',
  '${release}',
  '${cluster.<service>-<role>.url}',
  '${data.<store>.url}',
  '${secret.<name>}',
];

const NAME = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const CLUSTER = new RegExp(`^cluster\\.(${NAME})\\.url$`);
const DATA = new RegExp(`^data\\.(${NAME})\\.url$`);
/** Secret names allow underscores (`orders_url`) since they often mirror environment variables. */
const SECRET = /^secret\.([A-Za-z0-9_][A-Za-z0-9_-]*)$/;

export type ParsedTemplate = { ok: true; parts: TemplatePart[] } | { ok: false; error: string };

/** Splits a flag value into literal text and references, or says what is wrong with it. */
export function parseFlagTemplate(value: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    const next = value[i + 1];
    if (c === '$' && next === '$') {
      text += '$';
      i += 2;
      continue;
    }
    if (c === '$' && next === '{') {
      const end = value.indexOf('}', i + 2);
      if (end < 0) return { ok: false, error: `unterminated reference "${value.slice(i)}": missing "}"` };
      const inner = value.slice(i + 2, end);
      const ref = parseRef(inner);
      if (!ref) return { ok: false, error: `unknown reference "\${${inner}}"` };
      if (text) parts.push({ text });
      text = '';
      parts.push({ ref, source: `\${${inner}}` });
      i = end + 1;
      continue;
    }
    text += c;
    i += 1;
  }
  if (text) parts.push({ text });
  return { ok: true, parts };
}

function parseRef(inner: string): FlagRef | null {
  switch (inner) {
    case 'port':
    case 'log.file':
    case 'env':
    case 'release':
      return { kind: inner };
  }
  let m = CLUSTER.exec(inner);
  if (m?.[1]) return { kind: 'cluster', target: m[1] };
  m = DATA.exec(inner);
  if (m?.[1]) return { kind: 'data', store: m[1] };
  m = SECRET.exec(inner);
  if (m?.[1]) return { kind: 'secret', name: m[1] };
  return null;
}

/** The references in a flag value (empty for numbers and booleans, and for invalid templates). */
export function flagRefs(value: string | number | boolean): FlagRef[] {
  if (typeof value !== 'string') return [];
  const parsed = parseFlagTemplate(value);
  if (!parsed.ok) return [];
  return parsed.parts.flatMap((p) => ('ref' in p ? [p.ref] : []));
}

/**
 * The (service, role) pairs whose "<service>-<role>" is `target`. Names contain dashes, so the
 * split is found by trying the declared services; the loader rejects specs where two pairs
 * collide, so a valid spec yields at most one.
 */
export function resolveClusterTarget(
  target: string,
  services: Record<string, { roles?: Record<string, unknown> } | undefined>,
): Array<{ service: string; role: string }> {
  const found: Array<{ service: string; role: string }> = [];
  for (const [service, spec] of Object.entries(services)) {
    if (!target.startsWith(`${service}-`)) continue;
    const role = target.slice(service.length + 1);
    if (spec?.roles && Object.hasOwn(spec.roles, role)) found.push({ service, role });
  }
  return found;
}
