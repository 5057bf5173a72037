// What `kiln release create` warns about: the changelog entries a release adds since its parent
// that a deploy will refuse (or, with --breaking, apply although the previous release's servers
// may break). The same lint as the deploy's gate (streams/data/gate.ts), read for every engine
// the store runs on, since the environment (and so the engine) is chosen only at deploy time.
import type { ProjectSpec } from '../spec/types.js';
import { changelogOf, lintChangelog, storeEngines, type LintFinding } from '../streams/data/index.js';
import type { ReleaseManifest } from './types.js';

/** Findings of the entries after the parent's head, up to the release's head, per store. */
export function releaseDataFindings(spec: ProjectSpec, release: ReleaseManifest, parent: ReleaseManifest | undefined): LintFinding[] {
  const out: LintFinding[] = [];
  for (const [store, head] of Object.entries(release.data ?? {})) {
    if (!spec.data[store]) continue;
    const since = parent?.data?.[store]?.position ?? 0;
    const changelog = changelogOf(spec, store);
    out.push(...lintChangelog({ ...changelog, entries: changelog.entries.filter((e) => e.position <= head.position) }, since, storeEngines(spec, store)));
  }
  return out;
}

/** The warning lines (stderr) for those findings; none when there are none. */
export function formatDataWarnings(name: string, breakingRelease: boolean, findings: LintFinding[]): string[] {
  const lines: string[] = [];
  const at = (f: LintFinding): string => `  ${f.file}:${f.line}:${f.column}: ${f.reason}`;
  const tx = findings.filter((f) => f.kind === 'transaction');
  const refused = findings.filter((f) => f.kind === 'breaking' && !f.allowed);
  const marked = findings.filter((f) => f.kind === 'breaking' && f.allowed);
  if (tx.length) lines.push(`warning: ${name} has entries that escape their transaction; deploy and kiln data migrate refuse them (fix the entries, then create a new release):`, ...tx.map(at));
  if (refused.length && !breakingRelease) {
    lines.push(`warning: ${name} has entries that would break servers of the previous release; deploy refuses them unless the release is created with --breaking (kiln release create --breaking):`, ...refused.map(at));
  } else if (refused.length) {
    lines.push(`warning: ${name} was created with --breaking: deploy applies these entries although servers of the previous release may break:`, ...refused.map(at));
  }
  if (marked.length) lines.push(`warning: ${name} has entries marked "-- kiln:breaking": deploy applies them although servers of the previous release may break:`, ...marked.map(at));
  return lines;
}
