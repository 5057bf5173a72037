// A store's changelog (ARCHITECTURE.md, "Data layer"): a directory of ordered entries
// `NNNN_name.sql` or `NNNN_name.js` (a data migration: an ES module exporting
// `async function migrate(db)`). Positions run 1, 2, 3, … without gaps or duplicates, so a
// position names exactly one state of the store. An entry's checksum is the sha256 of its bytes:
// an edited entry is a different entry.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import { storeOf } from '../../spec/lookup.js';
import type { ProjectSpec } from '../../spec/types.js';

export type EntryKind = 'sql' | 'js';

export interface ChangelogEntry {
  /** 1-based, from the file name's number. */
  position: number;
  /** The file name, e.g. "0003_backfill_totals.js". */
  name: string;
  /** Absolute path. */
  file: string;
  kind: EntryKind;
  /** "sha256:<hex>" of the file's bytes. */
  checksum: string;
  /** The entry says it breaks servers of the previous release (`-- kiln:breaking` / `// kiln:breaking`). */
  breaking: boolean;
}

export interface Changelog {
  store: string;
  dir: string;
  entries: ChangelogEntry[];
  /**
   * Files and directories in the changelog directory that are not entries (a README, a parked
   * `0004_x.sql.off`, notes): never read, said by changelogNotes. Dotfiles are left out.
   */
  ignored: IgnoredFile[];
}

export interface IgnoredFile {
  name: string;
  /** It looks like an entry (digits first, .sql or .js last) but is not named like one: likely a typo. */
  lookalike: boolean;
}

const ENTRY_RE = /^(\d{4,})_([a-z0-9][a-z0-9_-]*)\.(sql|js)$/;
/** A name that starts like an entry's and ends like one, but is not one (`4_a.sql`, `0004_Add.sql`). */
const LOOKALIKE_RE = /^\d+[_-]?.*\.(sql|js)$/i;
/** The marker must be in the leading comment block of the entry. */
const BREAKING_RE = /^\s*(--|\/\/)\s*kiln:breaking\b/;

export function checksumOf(bytes: Buffer): string {
  return 'sha256:' + crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Whether the entry's header (its leading comment lines) has the `kiln:breaking` marker. */
export function hasBreakingMarker(text: string): boolean {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (BREAKING_RE.test(line)) return true;
    if (!/^\s*(--|\/\/)/.test(line)) return false;
  }
  return false;
}

/** Reads and validates a changelog directory; every problem names the file. */
export function readChangelog(dir: string, store: string): Changelog {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError('DATA_CHANGELOG', `cannot read the changelog of store "${store}": ${dir}: ${code ?? String(e)}`, {
      location: { file: dir },
      hint: 'create the directory (data.<store>.changelog is relative to kiln.yaml)',
    });
  }
  const byPosition = new Map<number, ChangelogEntry>();
  const ignored: IgnoredFile[] = [];
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    // Only NNNN_name.sql|js is an entry; a README or a parked file is left alone (and said).
    if (name.startsWith('.')) continue;
    const m = ENTRY_RE.exec(name);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!m || stat?.isDirectory()) {
      ignored.push({ name, lookalike: LOOKALIKE_RE.test(name) });
      continue;
    }
    if (!stat) {
      throw new KilnError('DATA_CHANGELOG', `${name} is a link to nothing`, { location: { file }, hint: 'remove the link or point it at the entry' });
    }
    const position = Number(m[1]);
    if (position < 1) {
      throw new KilnError('DATA_CHANGELOG', `${name}: positions start at 0001`, { location: { file } });
    }
    const other = byPosition.get(position);
    if (other) {
      throw new KilnError('DATA_CHANGELOG', `${name} and ${other.name} both have position ${position}`, {
        location: { file },
        hint: 'each position holds exactly one entry: renumber the newer one to the next free position',
      });
    }
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw new KilnError('DATA_CHANGELOG', `cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { location: { file } });
    }
    byPosition.set(position, {
      position,
      name,
      file,
      kind: m[3] as EntryKind,
      checksum: checksumOf(bytes),
      breaking: hasBreakingMarker(bytes.toString('utf8')),
    });
  }
  const entries = [...byPosition.values()].sort((a, b) => a.position - b.position);
  entries.forEach((e, i) => {
    if (e.position !== i + 1) {
      throw new KilnError('DATA_CHANGELOG', `${e.name}: position ${e.position} follows ${i === 0 ? 'nothing' : entries[i - 1]?.name}; position ${i + 1} is missing`, {
        location: { file: e.file },
        hint: 'positions run 0001, 0002, … without gaps',
      });
    }
  });
  return { store, dir, entries, ignored };
}

const ENTRY_NAMES = 'NNNN_name.sql or NNNN_name.js: four or more digits, "_", then lower-case letters, digits, "_" or "-"';

/**
 * What a command that reads the changelog says about files it did not read: one note for the
 * rest, and one per file that looks like a misnamed entry (so a typo never silently drops one).
 */
export function changelogNotes(c: Changelog): string[] {
  const notes: string[] = [];
  const plain = c.ignored.filter((f) => !f.lookalike).map((f) => f.name);
  if (plain.length) notes.push(`${c.store}: not changelog entries, ignored: ${plain.join(', ')}`);
  for (const f of c.ignored.filter((x) => x.lookalike)) {
    notes.push(`${c.store}: ${f.name} looks like a changelog entry but is not named like one (${ENTRY_NAMES}): ignored; rename it to make it an entry`);
  }
  return notes;
}

export { storeOf };

/** The changelog of a store of the project. */
export function changelogOf(spec: ProjectSpec, store: string): Changelog {
  return readChangelog(path.resolve(spec.dir, storeOf(spec, store).changelog), store);
}

/** "0007": positions in tags and messages, zero-padded like the file names. */
export function formatPosition(position: number): string {
  return String(position).padStart(4, '0');
}
