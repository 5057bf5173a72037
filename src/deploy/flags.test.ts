// Rendering kiln.yaml's flags once, typed (issue 12): layers merged, references resolved by the
// one parser of their grammar, files kept as secret or store references for the runtime to map,
// `true` a bare flag and `false` no flag (issue 13), positional arguments from the last layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { legacyServerArgs, renderServerArgs, type FlagContext } from './flags.js';
import { LOG_FILE, PORT, secret, serverArgs, store } from '../runtime/testkit.js';

const ctx: FlagContext = {
  env: 'dev',
  release: 'r7',
  clusterUrls: { 'api-http': 'http://127.0.0.1:40100' },
  locateStore: (s) =>
    s === 'orders'
      ? { engine: 'sqlite', store: s, env: 'dev', file: '/p/.kiln/data/dev/orders.db' }
      : { engine: 'postgres', store: s, env: 'dev', secret: 'pg_url', secretFile: '/p/.kiln/secrets/dev/pg_url@01' },
  secretFile: (n) => `/p/.kiln/secrets/dev/${n}@ff`,
};

test('service, role and environment flags merge by name, sorted; --port and --log-file are added', () => {
  const args = renderServerArgs(
    { flags: [{ greeting: 'hello', mode: 'a' }, { mode: 'b' }, { greeting: 'hi ${env} $${release}', n: 3 }], positional: [], style: 'equals', hasPort: true },
    ctx,
    'api',
  );
  assert.deepEqual(args, serverArgs([['greeting', 'hi dev ${release}'], ['log-file', LOG_FILE], ['mode', 'b'], ['n', '3'], ['port', PORT]]));
});

test('secrets and stores stay typed files: a SQLite store, a PostgreSQL URL\'s secret file, a secret inside a longer value', () => {
  const args = renderServerArgs(
    { flags: [{ db: '${data.orders.url}', pg: '${data.ledger.url}', token: 'file:${secret.web_token}', api: '${cluster.api-http.url}/v1', 'log-file': false }], positional: [], style: 'equals', hasPort: false },
    ctx,
    'web',
  );
  assert.deepEqual(args, serverArgs([
    ['api', 'http://127.0.0.1:40100/v1'],
    ['db', store('orders', '/p/.kiln/data/dev/orders.db')],
    ['pg', secret('pg_url', '/p/.kiln/secrets/dev/pg_url@01')],
    ['token', 'file:', secret('web_token', '/p/.kiln/secrets/dev/web_token@ff')],
  ]));
});

test('true is a bare flag, false leaves a flag out (Kiln\'s own --port and --log-file too); "false" in quotes is a value', () => {
  const args = renderServerArgs(
    { flags: [{ verbose: true, cache: true, color: 'false' }, { cache: false, port: false, 'log-file': false, p: '${port}' }], positional: [], style: 'single-dash', hasPort: true },
    ctx,
    'files',
  );
  assert.deepEqual(args, serverArgs([['color', 'false'], ['p', PORT], ['verbose', true]], 'single-dash'));
});

test('positional arguments: the last layer that gives them replaces the others, with the same references', () => {
  const layers = (positional: Array<string[] | undefined>) => renderServerArgs({ flags: [], positional, style: 'space', hasPort: false }, ctx, 'files').positional;
  assert.deepEqual(layers([['public', '${env}'], undefined, undefined]), [[{ kind: 'text', text: 'public' }], [{ kind: 'text', text: 'dev' }]]);
  assert.deepEqual(layers([['public'], ['www'], undefined]), [[{ kind: 'text', text: 'www' }]]);
  assert.deepEqual(layers([['public'], ['www'], []]), [], 'an empty list in the environment means none');
  assert.deepEqual(layers([['${secret.web_token}']]), [[secret('web_token', '/p/.kiln/secrets/dev/web_token@ff')]]);
});

test('a reference the release cannot resolve is a clear error naming the flag', () => {
  const bad = (flags: Record<string, string>) => () => renderServerArgs({ flags: [flags], positional: [], style: 'equals', hasPort: false }, ctx, 'web');
  assert.throws(bad({ api: '${cluster.gone-http.url}' }), (e: unknown) => e instanceof KilnError && /web --api refers to cluster "gone-http"/.test(e.message) && /api-http/.test(e.hint ?? ''));
  assert.throws(bad({ x: '${nope}' }), (e: unknown) => e instanceof KilnError && e.code === 'SPEC_INVALID' && /web --x: unknown reference/.test(e.message));
});

test('groups stored before arguments were typed read back with their per-server references', () => {
  assert.deepEqual(
    legacyServerArgs([['db', '/p/.kiln/data/dev/orders.db'], ['log-file', '${log.file}'], ['url', 'http://h:${port}/x']]),
    serverArgs([['db', '/p/.kiln/data/dev/orders.db'], ['log-file', LOG_FILE], ['url', 'http://h:', PORT, '/x']]),
  );
});
