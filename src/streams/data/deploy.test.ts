import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KilnError } from '../../errors.js';
import { changelogHead, prepareDataForDeploy } from './deploy.js';
import { makeDataProject } from './testkit.js';

test('deploy brings stores to the release head, and refuses a breaking entry unless allowed', async () => {
  const p = makeDataProject('  dev: {}');
  try {
    const base = { spec: p.spec, kilnDir: p.store.kilnDir, env: 'dev' };
    const r1 = changelogHead(p.spec);
    assert.equal(r1['orders']?.position, 4);
    const steps = await prepareDataForDeploy({ ...base, heads: r1, release: 'r1' });
    assert.deepEqual(steps[0]?.entries.map((e) => e.position), [1, 2, 3, 4]);
    const file = p.entry('0005_drop_qty.sql', 'ALTER TABLE orders\n  DROP COLUMN qty;\n');
    const r2 = changelogHead(p.spec, 'orders');
    await assert.rejects(prepareDataForDeploy({ ...base, heads: r2, release: 'r2' }), (e: unknown) => {
      assert.ok(e instanceof KilnError && e.code === 'DATA_BREAKING');
      assert.deepEqual(e.location, { file, line: 1, column: 1 });
      assert.match(e.message, /drops column qty/);
      return true;
    });
    const dry = await prepareDataForDeploy({ ...base, heads: r2, release: 'r2', allowBreaking: true, dryRun: true });
    assert.deepEqual(dry[0]?.entries.map((e) => e.position), [5]);
    const done = await prepareDataForDeploy({ ...base, heads: r2, release: 'r2', allowBreaking: true });
    assert.equal(done[0]?.to, 5);
    // Rolling back to r1: the store is ahead, nothing to do.
    assert.equal((await prepareDataForDeploy({ ...base, heads: r1, release: 'r1' }))[0]?.ahead, true);
  } finally {
    p.cleanup();
  }
});
