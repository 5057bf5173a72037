import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildTestImage, podmanTestEnv, requirePodman } from './podman.js';

test('the test containers.conf selects runc and this machine\'s ulimits, and podman works with it', () => {
  const t = podmanTestEnv();
  try {
    const conf = readFileSync(t.settings.containersConf as string, 'utf8');
    assert.match(conf, /runtime = "runc"/);
    assert.match(conf, /default_ulimits = \["nofile=20000:20000", "nproc=8192:8192"\]/);
    assert.equal(t.env.CONTAINERS_CONF, t.settings.containersConf);
    requirePodman(t); // throws with what to install: a missing podman fails this test
  } finally {
    t.cleanup();
  }
});

test('the busybox test image is deterministic: same inputs, same digest; one file changed, another', () => {
  const t = podmanTestEnv();
  try {
    const a = buildTestImage(path.join(t.dir, 'a'), 'x', 'one');
    const b = buildTestImage(path.join(t.dir, 'b'), 'x', 'one');
    const c = buildTestImage(path.join(t.dir, 'c'), 'x', 'two');
    assert.equal(a.digest, b.digest);
    assert.notEqual(a.digest, c.digest);
  } finally {
    t.cleanup();
  }
});
