// The one test that builds a real Debian base with mmdebstrap, from the machine's own apt
// sources (about 20 s to a few minutes, depending on the mirror), and the unknown-package error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../../errors.js';
import { listTags } from '../app/tags.js';
import { buildOs, osTagSource, readBom } from './index.js';
import { makeImageProject } from './testkit.js';

test('a real mmdebstrap minbase becomes an OS tag with its bill of materials; unchanged inputs are a cache hit', { timeout: 600_000 }, async (t) => {
  const p = await makeImageProject({ osYaml: '  bb: { debian: { suite: bookworm } }' });
  t.after(() => p.cleanup());
  const r = await buildOs(p.store, p.spec, 'bb');
  assert.equal(r.created, true);
  const bom = readBom(p.store.oci, osTagSource(r.tag).bom);
  assert.ok(r.packages > 50, `minbase has ${r.packages} packages`);
  for (const name of ['base-files', 'dpkg', 'apt', 'libc6']) assert.ok(bom.packages[name], `${name} is in the bill of materials`);
  const again = await buildOs(p.store, p.spec, 'bb');
  assert.deepEqual([again.cached, again.tag.tag], [true, r.tag.tag]);
});

test('an unknown package is an error naming it and its kiln.yaml key; no tag is made', { timeout: 600_000 }, async (t) => {
  const p = await makeImageProject({ osYaml: '  bb: { debian: { suite: bookworm, include: [kiln-no-such-package] } }' });
  t.after(() => p.cleanup());
  await assert.rejects(buildOs(p.store, p.spec, 'bb'), (e: unknown) => {
    assert.ok(e instanceof KilnError && e.code === 'BUILD_FAILED', String(e));
    assert.match(e.message, /^os\.bb\.debian\.include: package kiln-no-such-package not found in suite bookworm/);
    return true;
  });
  assert.equal(listTags(p.store.db, 'os/bb').length, 0);
});
