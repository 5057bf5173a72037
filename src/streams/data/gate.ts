// The one gate every path that applies changelog entries goes through (deploy, `kiln data
// migrate`, replicas): before anything is applied, an entry that would escape its transaction is
// refused, always; an entry that would break the servers still running the previous release is
// refused unless the user said so explicitly (`kiln release create --breaking` for a deploy,
// `kiln data migrate --breaking`) or the entry is marked `-- kiln:breaking`.
import fs from 'node:fs';
import { KilnError } from '../../errors.js';
import type { DataEngine } from '../../spec/types.js';
import { checksumOf, type ChangelogEntry } from './changelog.js';
import { lintSql, type LintFinding } from './lint.js';

export interface BreakingPolicy {
  /** Breaking entries are applied anyway. */
  allow: boolean;
  /** How the user allows them, for the refusal's hint: "create the release with `kiln release create --breaking`". */
  override: string;
}

/**
 * Checks `entries` (the ones about to be applied) as `engine` will run them. Without a policy
 * only transaction statements are refused (a replica is a new store no server uses yet).
 * Returns the breaking findings that were allowed.
 */
export function gateEntries(entries: ChangelogEntry[], engine: DataEngine, what: string, policy?: BreakingPolicy): LintFinding[] {
  const findings = entries.flatMap((e) => {
    if (e.kind !== 'sql') return [];
    const bytes = fs.readFileSync(e.file);
    // What is checked must be what the changelog's checksum names (and what will run).
    if (checksumOf(bytes) !== e.checksum) {
      throw new KilnError('DATA_CHANGELOG', `${e.file} changed while migrating`, { location: { file: e.file }, hint: 'run the command again' });
    }
    return lintSql(e, bytes.toString('utf8'), [engine]);
  });
  const escapes = findings.filter((f) => f.kind === 'transaction');
  const tx = escapes[0];
  if (tx) {
    throw new KilnError('DATA_CHANGELOG', `${what}: ${tx.name} ${tx.reason}; nothing was applied`, {
      location: { file: tx.file, line: tx.line, column: tx.column },
      hint: 'remove the transaction statements: Kiln commits each entry (with its history row) as one transaction; put work that needs a transaction of its own in an entry of its own',
      details: escapes.slice(1).map((f) => `${f.file}:${f.line}:${f.column}: ${f.reason.split(':')[0]}`),
    });
  }
  const breaking = findings.filter((f) => f.kind === 'breaking');
  if (!policy) return breaking;
  const refused = breaking.filter((f) => !f.allowed && !policy.allow);
  const first = refused[0];
  if (first) {
    throw new KilnError('DATA_BREAKING', `${what}: ${first.name} ${first.reason}; nothing was applied`, {
      location: { file: first.file, line: first.line, column: first.column },
      hint: `split it: add the new shape now and remove the old one in a later release; or, if servers of the previous release may break, ${policy.override} (or mark the entry "-- kiln:breaking")`,
      details: refused.slice(1).map((f) => `${f.file}:${f.line}:${f.column}: ${f.reason}`),
    });
  }
  return breaking;
}
