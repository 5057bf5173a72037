// The changelog reader under hostile directories: 10,000 random sets of file names (valid,
// near-valid, weird bytes, directories, dangling symlinks) and contents. Each must read or throw
// KilnError — never another exception — and reading writes nothing. KILN_FUZZ_SEED replays one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import { FUZZ_SEED, rng, type Rng } from '../../util/fuzzkit.js';
import { readChangelog } from './changelog.js';

function name(r: Rng): string {
  const pos = r.pick(['0001', '0002', '0003', '0000', '1', '00001', '9999', '-001', '0001.5', r.str(4, '0123456789')]);
  const ext = r.pick(['.sql', '.js', '.SQL', '.txt', '', '.sql.bak', '.sql~']);
  switch (r.int(4)) {
    case 0: return `${pos}_${r.str(1 + r.int(10), 'abc_-')}${ext}`;
    case 1: return `${pos}_${r.str(1 + r.int(10), 'abcXYZ .é\u202e\u0001')}${ext}`;
    case 2: return r.pick(['.', '..', '...', '.hidden', 'README.md', '.DS_Store', '0001_a.sql']).slice(0, 200);
    default: return Buffer.from(r.bytes(1 + r.int(30)).filter((b) => b !== 0 && b !== 0x2f)).toString('latin1') || 'x';
  }
}

test('changelog reader: 10,000 random directories read or fail with KilnError', { timeout: 60_000 }, (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-changelog-fuzz-'));
  const dir = path.join(root, 'changelog');
  const r = rng(FUZZ_SEED);
  const stats = { inputs: 0, read: 0, refused: 0 };
  try {
    for (let i = 0; i < 10_000; i++) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      const n = r.int(5);
      for (let j = 0; j < n; j++) {
        const f = path.join(dir, name(r));
        if (f === dir || path.dirname(f) !== dir || fs.lstatSync(f, { throwIfNoEntry: false })) continue;
        const kind = r.int(10);
        if (kind === 0) fs.mkdirSync(f);
        else if (kind === 1) fs.symlinkSync(path.join(root, 'nowhere'), f);
        else fs.writeFileSync(f, r.int(2) ? r.bytes(r.int(200)) : `-- ${r.pick(['kiln:breaking', 'x'])}\nCREATE TABLE t (id INTEGER);\n`);
      }
      stats.inputs++;
      try {
        readChangelog(r.int(50) ? dir : path.join(root, r.pick(['missing', 'a\0b', 'x'.repeat(300)])), 'orders');
        stats.read++;
      } catch (e) {
        if (!(e instanceof KilnError)) assert.fail(`seed ${FUZZ_SEED}, input ${i}: ${(e as Error).stack}\nfiles: ${JSON.stringify(fs.readdirSync(dir))}`);
        stats.refused++;
      }
    }
    assert.deepEqual(fs.readdirSync(root), ['changelog'], 'reading wrote nothing');
    t.diagnostic(`seed ${FUZZ_SEED}: ${stats.inputs} directories, ${stats.read} read, ${stats.refused} refused with KilnError`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
