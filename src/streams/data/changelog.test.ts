import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KilnError } from '../../errors.js';
import { changelogNotes, readChangelog } from './changelog.js';
import { toNumberedParams } from './engine.js';
import { lintChangelog } from './lint.js';

function dir(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-changelog-'));
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(d, n), t);
  return d;
}

function rejects(files: Record<string, string>, bad: string, re: RegExp): void {
  const d = dir(files);
  try {
    assert.throws(() => readChangelog(d, 'orders'), (e: unknown) => e instanceof KilnError && e.code === 'DATA_CHANGELOG' && e.location?.file === path.join(d, bad) && re.test(e.message));
  } finally {
    fs.rmSync(d, { recursive: true });
  }
}

test('a changelog is ordered entries with checksums; gaps, duplicates and bad names are errors naming the file', () => {
  const d = dir({ '0001_a.sql': 'x', '0002_b.js': 'y', 'README.md': 'docs' });
  const c = readChangelog(d, 'orders');
  assert.deepEqual(c.entries.map((e) => [e.position, e.name, e.kind]), [[1, '0001_a.sql', 'sql'], [2, '0002_b.js', 'js']]);
  assert.equal(c.entries[0]?.checksum, 'sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
  fs.rmSync(d, { recursive: true });
  rejects({ '0001_a.sql': '', '0003_c.sql': '' }, '0003_c.sql', /position 2 is missing/);
  rejects({ '0001_a.sql': '', '0001_b.sql': '' }, '0001_b.sql', /both have position 1/);
});

test('only NNNN_name.sql|js entries are read: a README, parked files and directories are ignored and named in a note', () => {
  const d = dir({
    '0001_a.sql': 'x',
    '0002_b.js': 'y',
    'README.md': 'docs',
    'NOTES.txt': 'n',
    '0003_c.sql.off': 'parked',
    '2_b.sql': 'typo',
    '0003_Upper.sql': 'typo',
    '.0003_c.sql.swp': 'editor',
  });
  try {
    fs.mkdirSync(path.join(d, 'parked'));
    fs.symlinkSync(path.join(d, 'missing'), path.join(d, 'dangling.txt'));
    const c = readChangelog(d, 'orders');
    assert.deepEqual(c.entries.map((e) => e.name), ['0001_a.sql', '0002_b.js']);
    assert.deepEqual(changelogNotes(c), [
      'orders: not changelog entries, ignored: 0003_c.sql.off, NOTES.txt, README.md, dangling.txt, parked',
      'orders: 0003_Upper.sql looks like a changelog entry but is not named like one (NNNN_name.sql or NNNN_name.js: four or more digits, "_", then lower-case letters, digits, "_" or "-"): ignored; rename it to make it an entry',
      'orders: 2_b.sql looks like a changelog entry but is not named like one (NNNN_name.sql or NNNN_name.js: four or more digits, "_", then lower-case letters, digits, "_" or "-"): ignored; rename it to make it an entry',
    ]);
    // Nothing to say about a directory of entries only.
    const clean = dir({ '0001_a.sql': 'x' });
    assert.deepEqual(changelogNotes(readChangelog(clean, 'orders')), []);
    fs.rmSync(clean, { recursive: true });
  } finally {
    fs.rmSync(d, { recursive: true });
  }
});

test('lint names each breaking statement with file:line:column and honours the kiln:breaking header', () => {
  const d = dir({
    '0001_ok.sql': "CREATE TABLE t (a INTEGER);\n-- DROP TABLE t; in a comment\nINSERT INTO t VALUES (';DROP TABLE x');\nALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x';\n",
    '0002_bad.sql': 'CREATE TABLE u (a INTEGER);\n  ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD COLUMN c INTEGER NOT NULL;\nALTER TABLE t RENAME COLUMN b TO bb;\nALTER TABLE t ALTER COLUMN b TYPE BIGINT;\nDROP TABLE IF EXISTS u;\nALTER TABLE t RENAME TO t2;\n',
    '0003_marked.sql': '-- kiln:breaking: the old servers are gone by now\nDROP TABLE t2;\n',
  });
  try {
    const f = lintChangelog(readChangelog(d, 'orders'));
    assert.deepEqual(
      f.map((x) => `${path.basename(x.file)}:${x.line}:${x.column} ${x.allowed ? 'allowed ' : ''}${x.reason.split(/[:,]/)[0]}`),
      [
        '0002_bad.sql:2:3 drops column a',
        '0002_bad.sql:3:1 adds column c NOT NULL without a DEFAULT',
        '0002_bad.sql:4:1 renames column b to bb',
        '0002_bad.sql:5:1 changes the type of column b',
        '0002_bad.sql:6:1 drops table u',
        '0002_bad.sql:7:1 renames table t to t2',
        '0003_marked.sql:2:1 allowed drops table t2',
      ],
    );
  } finally {
    fs.rmSync(d, { recursive: true });
  }
});

test('? parameters become $n for PostgreSQL, except inside strings and comments', () => {
  assert.equal(toNumberedParams("SELECT ?, '?', \"?\" -- ?\n, ?"), "SELECT $1, '?', \"?\" -- ?\n, $2");
});
