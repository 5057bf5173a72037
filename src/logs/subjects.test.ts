import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { readLogs } from './api.js';
import { NO_SUBJECTS } from './subjects.js';
import { queryLogs } from './query.js';
import { lineRuns, tags, tempLogs } from './testkit.js';

function errorOf(f: () => unknown): KilnError {
  try {
    f();
  } catch (e) {
    if (e instanceof KilnError) return e;
    throw e;
  }
  assert.fail('no error');
}

test('an unknown cluster, build, server or environment is an error listing what exists', () => {
  const t = tempLogs();
  try {
    const store = t.open();
    const web = store.tagId(tags('web-http-dev-v001-1', 'stdout'));
    const api = store.tagId(tags('api-http-dev-v002-1', 'log', { service: 'api', cluster: 'api-http-dev', group: 'api-http-dev-v002' }));
    store.append(lineRuns([{ tag: web, text: 'w' }, { tag: api, text: 'a' }]), []);
    const q = (o: Record<string, string>): URLSearchParams => new URLSearchParams(o);

    const c = errorOf(() => readLogs(store, q({ cluster: 'web-dev' })));
    assert.equal(c.code, 'CLUSTER_NOT_FOUND');
    assert.equal(c.message, 'no cluster "web-dev"');
    assert.equal(c.hint, 'clusters: api-http-dev, web-http-dev');

    const b = errorOf(() => readLogs(store, q({ cluster: 'web-http-dev', group: 'web-http-dev-v009' })));
    assert.equal(b.message, 'web-http-dev has no build v009');
    assert.equal(b.hint, 'builds: v001');
    assert.equal(b.where(), '--build');

    const s = errorOf(() => readLogs(store, q({ cluster: 'api-http-dev', server: 'web-http-dev-v001-1' })));
    assert.equal(s.code, 'SERVER_NOT_FOUND');
    assert.equal(s.hint, 'servers: api-http-dev-v002-1');

    const e = errorOf(() => readLogs(store, q({ env: 'prod' })));
    assert.equal(e.code, 'ENV_NOT_FOUND');
    assert.equal(e.hint, 'environments: dev');

    // What exists: lines of it, or the run side knowing it (deployed, nothing written yet).
    assert.deepEqual(readLogs(store, q({ cluster: 'web-http-dev' })).lines.map((l) => l.text), ['w']);
    const known = { ...NO_SUBJECTS, envs: ['dev', 'prod'], clusters: [{ name: 'web-http-prod', env: 'prod' }] };
    let reads = 0;
    const run = () => (reads++, known);
    assert.deepEqual(readLogs(store, q({ env: 'prod', cluster: 'web-http-prod' }), run).lines, []);
    const inProd = errorOf(() => readLogs(store, q({ env: 'prod', cluster: 'web-http-dev' }), run));
    assert.equal(inProd.message, 'no cluster "web-http-dev" in prod');
    assert.equal(inProd.hint, 'clusters: web-http-prod');
    // The run side's list (every group and server in state.db) is read only to tell a name the
    // store has no line of: naming what has lines costs one probe of the store, not the history.
    reads = 0;
    assert.deepEqual(readLogs(store, q({ env: 'dev', cluster: 'web-http-dev', server: 'web-http-dev-v001-1' }), run).lines.map((l) => l.text), ['w']);
    assert.equal(reads, 0);
  } finally {
    t.cleanup();
  }
});

test('a limit of 0 reads no lines (kiln logs -n 0)', () => {
  const t = tempLogs();
  try {
    const store = t.open();
    store.append(lineRuns([{ tag: store.tagId(tags('web-http-dev-v001-1')), text: 'x' }]), []);
    assert.deepEqual(queryLogs(store, { limit: 0 }), []);
    assert.equal(queryLogs(store, { limit: 1 }).length, 1);
  } finally {
    t.cleanup();
  }
});
