// Which uid/gid numbers this machine already uses, so Kiln never hands one out: accounts and
// groups (/etc/passwd, /etc/group), subordinate ranges for user namespaces (/etc/subuid,
// /etc/subgid), the owners of live processes, and numbers this process cannot even map (a
// user namespace's uid_map/gid_map). Read once per allocation; tests pass their own.
import fs from 'node:fs';

export interface SystemIds {
  /** Whether the number is in use (as a uid or a gid) or reserved. */
  taken(id: number): boolean;
  /** Whether the number is a valid uid and gid here (inside the user namespace's maps). */
  mappable(id: number): boolean;
  /** Numbers live processes run as (real, effective, saved or filesystem uid/gid). */
  inUse: ReadonlySet<number>;
}

type Range = [start: number, count: number];

function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  } catch {
    return [];
  }
}

function field(file: string, index: number): number[] {
  return lines(file)
    .map((l) => Number(l.split(':')[index]))
    .filter((n) => Number.isInteger(n));
}

function subRanges(file: string): Range[] {
  return lines(file)
    .map((l) => l.split(':'))
    .map((f): Range => [Number(f[1]), Number(f[2])])
    .filter(([s, c]) => Number.isInteger(s) && Number.isInteger(c));
}

/** "inner outer count" lines: the inner ranges are what this process can use. */
function mapRanges(file: string): Range[] | null {
  const ls = lines(file);
  if (ls.length === 0) return null;
  return ls.map((l) => l.trim().split(/\s+/)).map((f): Range => [Number(f[0]), Number(f[2])]);
}

function processIds(): Set<number> {
  const out = new Set<number>();
  let names: string[] = [];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      for (const l of fs.readFileSync(`/proc/${name}/status`, 'utf8').split('\n')) {
        if (!l.startsWith('Uid:') && !l.startsWith('Gid:')) continue;
        for (const n of l.slice(4).trim().split(/\s+/)) out.add(Number(n));
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const inRanges = (id: number, ranges: Range[]): boolean => ranges.some(([s, c]) => id >= s && id < s + c);

export function readSystemIds(): SystemIds {
  const named = new Set([...field('/etc/passwd', 2), ...field('/etc/passwd', 3), ...field('/etc/group', 2)]);
  const sub = [...subRanges('/etc/subuid'), ...subRanges('/etc/subgid')];
  const uidMap = mapRanges('/proc/self/uid_map');
  const gidMap = mapRanges('/proc/self/gid_map');
  const inUse = processIds();
  return {
    taken: (id) => named.has(id) || inUse.has(id) || inRanges(id, sub),
    mappable: (id) => (uidMap === null || inRanges(id, uidMap)) && (gidMap === null || inRanges(id, gidMap)),
    inUse,
  };
}
