// A changelog directory with a README and parked files (issue 13): `kiln release create` reads
// only NNNN_name.sql|js entries, names what it ignored, makes the release, and changes no file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeProject } from './lib/project.js';

test('release create with a README and a parked entry in the changelog directory', async () => {
  const p = await makeProject();
  try {
    const dir = path.join(p.dir, 'db', 'orders');
    fs.writeFileSync(path.join(dir, 'README.md'), '# orders\nEntries run in order; 0004 is parked.\n');
    fs.writeFileSync(path.join(dir, '0004_add_index.sql.off'), 'CREATE INDEX orders_item ON orders (item);\n');
    fs.writeFileSync(path.join(dir, '4_typo.sql'), 'SELECT 1;\n');
    const before = Object.fromEntries(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
    await p.kiln(['init']);
    await p.kiln(['app', 'tag', 'api', '1.0.0']);
    await p.kiln(['app', 'tag', 'web', '1.0.0']);
    const r = await p.kiln(['release', 'create'], { allowFail: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^r1 sha256:/);
    assert.match(r.stderr, /orders: not changelog entries, ignored: 0004_add_index\.sql\.off, README\.md/);
    assert.match(r.stderr, /orders: 4_typo\.sql looks like a changelog entry but is not named like one .*: ignored; rename it/);
    // The release's head is the last real entry.
    const shown = JSON.parse((await p.kiln(['release', 'show', 'r1', '--json'])).stdout) as { manifest: { data?: Record<string, { position: number }> } };
    assert.equal(shown.manifest.data?.orders?.position, 3);
    const j = JSON.parse((await p.kiln(['release', 'create', '--json'])).stdout) as { created: boolean; notes: string[] };
    assert.equal(j.created, false);
    assert.equal(j.notes.length, 2);
    const after = Object.fromEntries(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
    assert.deepEqual(after, before);
  } finally {
    await p.cleanup();
  }
});
