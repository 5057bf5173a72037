// What changed between two releases, service by service, as data (for --json and tests)
// and as lines for people.
import type { FlagMap, FlagStyle, FlagValue, HealthCheckSpec } from '../spec/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { ReleaseManifest, ReleaseRecord, ReleaseRole, ReleaseService } from './types.js';

export type ReleaseChange =
  | { kind: 'service-added'; service: string; app: string }
  | { kind: 'service-removed'; service: string }
  | { kind: 'app'; service: string; from: string; to: string; fromDigest: string; toDigest: string; fromRevision?: string; toRevision?: string }
  | { kind: 'os'; service: string; from: string | null; to: string | null }
  /** The OS tag the image was built on, with package changes from the two bills of materials. */
  | { kind: 'os-tag'; service: string; from: string | null; to: string | null; packages?: PackageChanges }
  | { kind: 'image'; service: string; from: string | null; to: string | null }
  | { kind: 'run'; service: string; from: string[]; to: string[] }
  | { kind: 'flags-style'; service: string; from: FlagStyle; to: FlagStyle }
  /** Positional arguments; a role's `null` means it takes the service's. */
  | { kind: 'args'; service: string; role: string | null; from: string[] | null; to: string[] | null }
  | { kind: 'role-added'; service: string; role: string; replicas: number }
  | { kind: 'role-removed'; service: string; role: string }
  | { kind: 'replicas'; service: string; role: string; from: number; to: number }
  | { kind: 'port'; service: string; role: string; from: string | null; to: string | null }
  | { kind: 'health'; service: string; role: string; from: HealthCheckSpec | null; to: HealthCheckSpec | null }
  | { kind: 'flag-added'; service: string; role: string | null; flag: string; to: FlagValue }
  | { kind: 'flag-removed'; service: string; role: string | null; flag: string; from: FlagValue }
  | { kind: 'flag-changed'; service: string; role: string | null; flag: string; from: FlagValue; to: FlagValue };

export interface PackageChanges {
  added: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
  changed: Array<{ name: string; from: string; to: string }>;
}

/** Per data store: the changelog head moved, and the entries it added. */
export interface DataChange {
  store: string;
  from: number | null;
  to: number | null;
  entries: string[];
}

export interface ReleaseDiff {
  from: string;
  to: string;
  changes: ReleaseChange[];
  /** Changelog heads that moved (absent when none did). */
  data?: DataChange[];
}

/**
 * What the diff may look up beyond the two manifests (the store: bills of materials, changelogs).
 * Without it, the diff is of the manifests alone.
 */
export interface DiffSources {
  /** The source revision (git commit) an app tag was built from, when it was recorded. */
  appRevision?: (stream: string, tag: string) => string | undefined;
  /** Package changes between two OS tags ("os/bookworm:2026.01.15.1"), or null if unknown. */
  osPackages?(from: string, to: string): PackageChanges | null;
  /** Names of a store's changelog entries after position `from` up to `to`. */
  changelogEntries?(store: string, from: number, to: number): string[];
}

type Side = ReleaseRecord | ReleaseManifest;
const manifestOf = (x: Side): ReleaseManifest => ('manifest' in x ? x.manifest : x);
const sorted = (o: object): string[] => Object.keys(o).sort();
const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

export function diffReleases(a: Side, b: Side, sources: DiffSources = {}): ReleaseDiff {
  const ma = manifestOf(a);
  const mb = manifestOf(b);
  const changes: ReleaseChange[] = [];
  const names = [...new Set([...sorted(ma.services), ...sorted(mb.services)])].sort();
  for (const service of names) {
    const sa = ma.services[service];
    const sb = mb.services[service];
    if (!sa && sb) changes.push({ kind: 'service-added', service, app: `${sb.app.stream}:${sb.app.tag}` });
    else if (sa && !sb) changes.push({ kind: 'service-removed', service });
    else if (sa && sb) diffService(service, sa, sb, changes, sources);
  }
  const data = diffData(ma, mb, sources);
  return { from: ma.name, to: mb.name, changes, ...(data.length ? { data } : {}) };
}

function diffData(a: ReleaseManifest, b: ReleaseManifest, sources: DiffSources): DataChange[] {
  const out: DataChange[] = [];
  const da = a.data ?? {};
  const db = b.data ?? {};
  for (const store of [...new Set([...sorted(da), ...sorted(db)])].sort()) {
    const from = da[store]?.position ?? null;
    const to = db[store]?.position ?? null;
    if (from === to && da[store]?.checksum === db[store]?.checksum) continue;
    let entries: string[] = [];
    if (to !== null && (from ?? 0) < to && sources.changelogEntries) {
      try {
        entries = sources.changelogEntries(store, from ?? 0, to);
      } catch {
        entries = []; // the changelog on disk may have moved on; the positions still say it
      }
    }
    out.push({ store, from, to, entries });
  }
  return out;
}

function diffService(service: string, a: ReleaseService, b: ReleaseService, out: ReleaseChange[], sources: DiffSources = {}): void {
  if (a.app.tag !== b.app.tag || a.app.digest !== b.app.digest || a.app.stream !== b.app.stream) {
    const fromRevision = sources.appRevision?.(a.app.stream, a.app.tag);
    const toRevision = sources.appRevision?.(b.app.stream, b.app.tag);
    out.push({
      kind: 'app',
      service,
      from: `${a.app.stream}:${a.app.tag}`,
      to: `${b.app.stream}:${b.app.tag}`,
      fromDigest: a.app.digest,
      toDigest: b.app.digest,
      ...(fromRevision ? { fromRevision } : {}),
      ...(toRevision ? { toRevision } : {}),
    });
  }
  if ((a.os ?? null) !== (b.os ?? null)) out.push({ kind: 'os', service, from: a.os ?? null, to: b.os ?? null });
  const osA = a.image ? `${a.image.os.stream}:${a.image.os.tag}` : null;
  const osB = b.image ? `${b.image.os.stream}:${b.image.os.tag}` : null;
  if (osA !== osB || a.image?.os.digest !== b.image?.os.digest) {
    const packages = osA && osB && sources.osPackages ? sources.osPackages(osA, osB) : null;
    out.push({ kind: 'os-tag', service, from: osA, to: osB, ...(packages ? { packages } : {}) });
  }
  if ((a.image?.digest ?? null) !== (b.image?.digest ?? null)) out.push({ kind: 'image', service, from: a.image?.digest ?? null, to: b.image?.digest ?? null });
  if (!same(a.run, b.run)) out.push({ kind: 'run', service, from: a.run, to: b.run });
  if ((a.flagsStyle ?? 'equals') !== (b.flagsStyle ?? 'equals')) out.push({ kind: 'flags-style', service, from: a.flagsStyle ?? 'equals', to: b.flagsStyle ?? 'equals' });
  if (!same(a.args ?? [], b.args ?? [])) out.push({ kind: 'args', service, role: null, from: a.args ?? [], to: b.args ?? [] });
  const roles = [...new Set([...sorted(a.roles), ...sorted(b.roles)])].sort();
  for (const role of roles) {
    const ra = a.roles[role];
    const rb = b.roles[role];
    if (!ra && rb) out.push({ kind: 'role-added', service, role, replicas: rb.replicas });
    else if (ra && !rb) out.push({ kind: 'role-removed', service, role });
    else if (ra && rb) diffRole(service, role, ra, rb, out);
  }
  diffFlags(service, null, a.flags, b.flags, out);
}

function diffRole(service: string, role: string, a: ReleaseRole, b: ReleaseRole, out: ReleaseChange[]): void {
  if (a.replicas !== b.replicas) out.push({ kind: 'replicas', service, role, from: a.replicas, to: b.replicas });
  if ((a.port ?? null) !== (b.port ?? null)) out.push({ kind: 'port', service, role, from: a.port ?? null, to: b.port ?? null });
  if (!same(a.health, b.health)) out.push({ kind: 'health', service, role, from: a.health ?? null, to: b.health ?? null });
  if (!same(a.args ?? null, b.args ?? null)) out.push({ kind: 'args', service, role, from: a.args ?? null, to: b.args ?? null });
  diffFlags(service, role, a.flags, b.flags, out);
}

function diffFlags(service: string, role: string | null, a: FlagMap, b: FlagMap, out: ReleaseChange[]): void {
  for (const flag of [...new Set([...sorted(a), ...sorted(b)])].sort()) {
    const fa = a[flag];
    const fb = b[flag];
    if (fa === undefined && fb !== undefined) out.push({ kind: 'flag-added', service, role, flag, to: fb });
    else if (fa !== undefined && fb === undefined) out.push({ kind: 'flag-removed', service, role, flag, from: fa });
    else if (fa !== undefined && fb !== undefined && fa !== fb) out.push({ kind: 'flag-changed', service, role, flag, from: fa, to: fb });
  }
}

const short = (d: string): string => d.replace(/^sha256:/, '').slice(0, 12);
const health = (h: HealthCheckSpec | null): string =>
  h
    ? `${h.path} (interval ${h.intervalMs}ms, timeout ${h.timeoutMs}ms, retries ${h.retries}, grace ${h.graceMs}ms${
        h.crashLoop
          ? `, crash-loop ${h.crashLoop.minFailures} in ${h.crashLoop.windowMs}ms, backoff ${h.crashLoop.initialBackoffMs}-${h.crashLoop.maxBackoffMs}ms`
          : ''
      })`
    : 'none';
const fv = (v: FlagValue): string => JSON.stringify(v);

/** One change as one line (what `kiln release diff` prints under its service). */
export function describeChange(c: ReleaseChange): string {
  return line(c);
}

function line(c: ReleaseChange): string {
  const where = 'role' in c && c.role ? `role ${c.role}: ` : '';
  switch (c.kind) {
    case 'service-added':
      return `+ service (${c.app})`;
    case 'service-removed':
      return '- service';
    case 'app':
      return (
        `app ${c.from} -> ${c.to}` +
        ` (${short(c.fromDigest)} -> ${short(c.toDigest)})` +
        (c.fromRevision || c.toRevision ? `, source ${c.fromRevision ?? '?'} -> ${c.toRevision ?? '?'}` : '')
      );
    case 'os':
      return `os ${c.from ?? 'none'} -> ${c.to ?? 'none'}`;
    case 'os-tag': {
      const p = c.packages;
      const pk = p ? `: ${[...p.added.map((x) => `+${x.name} ${x.version}`), ...p.removed.map((x) => `-${x.name} ${x.version}`), ...p.changed.map((x) => `${x.name} ${x.from} -> ${x.to}`)].join(', ') || 'same packages'}` : '';
      return `os tag ${c.from ?? 'none'} -> ${c.to ?? 'none'}${pk}`;
    }
    case 'image':
      return `image ${c.from ? short(c.from) : 'none'} -> ${c.to ? short(c.to) : 'none'}`;
    case 'run':
      return `run [${c.from.join(' ')}] -> [${c.to.join(' ')}]`;
    case 'flags-style':
      return `flags-style ${c.from} -> ${c.to}`;
    case 'args': {
      const list = (l: string[] | null): string => (l === null ? "the service's" : `[${l.join(' ')}]`);
      return `${where}args ${list(c.from)} -> ${list(c.to)}`;
    }
    case 'role-added':
      return `+ role ${c.role} (replicas ${c.replicas})`;
    case 'role-removed':
      return `- role ${c.role}`;
    case 'replicas':
      return `${where}replicas ${c.from} -> ${c.to}`;
    case 'port':
      return `${where}port ${c.from ?? 'none'} -> ${c.to ?? 'none'}`;
    case 'health':
      return `${where}health ${health(c.from)} -> ${health(c.to)}`;
    case 'flag-added':
      return `${where}+ flag --${c.flag}=${fv(c.to)}`;
    case 'flag-removed':
      return `${where}- flag --${c.flag}=${fv(c.from)}`;
    case 'flag-changed':
      return `${where}flag --${c.flag} ${fv(c.from)} -> ${fv(c.to)}`;
  }
}

/** "r1 -> r2" then one line per change, grouped by service; "no changes" when none. */
export function formatReleaseDiff(diff: ReleaseDiff): string {
  const lines = [`${diff.from} -> ${diff.to}`];
  for (const d of diff.data ?? []) {
    lines.push(`  data ${d.store}: changelog ${d.from ?? 'none'} -> ${d.to ?? 'none'}${d.entries.length ? ` (+ ${d.entries.join(', ')})` : ''}`);
  }
  if (diff.changes.length === 0) {
    if (diff.data?.length) return lines.join('\n');
    lines.push('  no changes');
    return lines.join('\n');
  }
  let current = '';
  for (const c of diff.changes) {
    if (c.service !== current) {
      current = c.service;
      lines.push(`  ${current}:`);
    }
    lines.push(`    ${line(c)}`);
  }
  return lines.join('\n');
}
