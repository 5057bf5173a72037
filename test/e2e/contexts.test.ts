// Contexts and rebuilding the world (issue 6), through the real CLI and control plane:
// environments created from a release with another environment's data, promotion, and
// `kiln rebuild` (nothing changed; one app changed; a release that fails side by side).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';
import { makeRootfsTar } from '../../src/streams/os/testkit.js';

/** Every table of a SQLite file, schema and rows, as one comparable value. */
function dumpSqlite(file: string): unknown {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name`).all() as Array<{ name: string; sql: string | null }>;
    return tables.map((t) => ({ ...t, rows: t.sql?.startsWith('CREATE TABLE') ? db.prepare(`SELECT * FROM "${t.name}"`).all() : null }));
  } finally {
    db.close();
  }
}

describe('environments as values: create from a release with prod data, promote, destroy', () => {
  let shop: Shop;
  const dig = (...args: string[]): string =>
    execFileSync('dig', ['@127.0.0.1', '-p', String(shop.p.dnsPort), '+tries=1', '+time=2', ...args], { encoding: 'utf8' });
  const devDb = (): string => path.join(shop.p.dir, '.kiln', 'data', 'dev', 'orders.db');
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test("a test environment gets dev's snapshot plus the release's changelog; dev is untouched", async () => {
    // dev plays prod here: it has data of its own.
    const w = new Database(devDb());
    w.pragma('busy_timeout = 5000');
    w.prepare(`INSERT INTO orders(item, qty, created_at, price_cents) VALUES ('pear', 3, '2026-01-01', 70)`).run();
    w.close();
    fs.writeFileSync(path.join(shop.p.dir, 'db', 'orders', '0004_add_note.sql'), 'ALTER TABLE orders ADD COLUMN note TEXT;\n');
    const rel = JSON.parse((await shop.p.kiln(['release', 'create', '--json'])).stdout) as { name: string };
    assert.equal(rel.name, 'r2');
    const devBefore = dumpSqlite(devDb());
    const statusBefore = await shop.status();

    const res = await shop.p.kiln(['env', 'create', 'test-r2', '--release', 'r2', '--data-from', 'dev', '--json']);
    const created = JSON.parse(res.stdout) as { env: string; replicas: Array<{ store: string; position: number }> };
    assert.deepEqual(created.replicas.map((r) => [r.store, r.position]), [['orders', 4]]);
    assert.match((await shop.p.kiln(['release', 'diff', 'r1', 'r2'])).stdout, /data orders: changelog 3 -> 4 \(\+ 0004_add_note\.sql\)/);

    // Its data: dev's rows, and the release's changelog entry on top.
    const testDb = path.join(shop.p.dir, '.kiln', 'data', 'test-r2', 'orders.db');
    const t = new Database(testDb, { readonly: true });
    const rows = t.prepare('SELECT item, qty, note FROM orders ORDER BY id').all();
    t.close();
    assert.deepEqual(rows, [{ item: 'pear', qty: 3, note: null }]);
    const st = JSON.parse((await shop.p.kiln(['data', 'status', 'orders', '--env', 'test-r2', '--json'])).stdout) as { position: number };
    assert.equal(st.position, 4);

    // dev: the same bytes-level content and the same groups as before.
    assert.deepEqual(dumpSqlite(devDb()), devBefore);
    assert.deepEqual((await shop.status()).clusters.map((c) => [c.name, c.active]), statusBefore.clusters.map((c) => [c.name, c.active]));

    // Its own clusters, names, flags.
    const api = await shop.get('api-http-test-r2.shop.test', '/items');
    assert.equal(api.status, 200);
    assert.match(dig('+short', 'TXT', 'api-http-test-r2.shop.test'), /group=api-http-test-r2-v001/);
    const flags = (await shop.p.kiln(['flags', 'web', '--env', 'test-r2', '--release', 'r2'])).stdout;
    assert.match(flags, /--token-file=\S+\/\.kiln\/secrets\/test-r2\/web_token/, 'its own copy of the secret file');
    const list = JSON.parse((await shop.p.kiln(['env', 'list', '--json'])).stdout) as Array<{ name: string; origin: string; clusters: Array<{ healthy: number }> }>;
    const env = list.find((e) => e.name === 'test-r2');
    assert.equal(env?.origin, 'created');
    assert.equal(env?.clusters.length, 3);
  });

  test('promote: exactly what ran healthy in the test environment; a release never healthy there is refused', async () => {
    const refused = await shop.p.kiln(['promote', 'r1', '--from', 'test-r2', '--to', 'dev'], { allowFail: true });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /r1 never ran healthy in test-r2/);
    assert.match(refused.stderr, /--force/);
    const res = await shop.p.kiln(['promote', 'r2', '--from', 'test-r2', '--to', 'dev', '--json']);
    assert.equal((JSON.parse(res.stdout) as { release: string }).release, 'r2');
    const st = JSON.parse((await shop.p.kiln(['data', 'status', 'orders', '--env', 'dev', '--json'])).stdout) as { position: number };
    assert.equal(st.position, 4, 'dev migrated to r2\'s changelog head');
  });

  test('bad input changes nothing: a kiln.yaml environment, a taken name, a name too long', async () => {
    const before = JSON.parse((await shop.p.kiln(['env', 'list', '--json'])).stdout) as unknown;
    const yamlEnv = await shop.p.kiln(['env', 'destroy', 'dev'], { allowFail: true });
    assert.equal(yamlEnv.code, 2, "a usage error");
    assert.match(yamlEnv.stderr, /written in .*kiln\.yaml/);
    const taken = await shop.p.kiln(['env', 'create', 'test-r2', '--release', 'r2'], { allowFail: true });
    assert.match(taken.stderr, /environment "test-r2" already exists/);
    const long = await shop.p.kiln(['env', 'create', 'e'.repeat(50), '--release', 'r2'], { allowFail: true });
    assert.notEqual(long.code, 0);
    assert.match(long.stderr, /environment "e{50}"/);
    assert.deepEqual(JSON.parse((await shop.p.kiln(['env', 'list', '--json'])).stdout), before);
  });

  test('destroy leaves no trace: servers, routes, DNS names, replicas, secrets, logs', async () => {
    await shop.p.kiln(['env', 'destroy', 'test-r2']);
    assert.deepEqual(processesMatching('-test-r2-v', shop.p.dir), []);
    assert.match(dig('api-http-test-r2.shop.test'), /status: NXDOMAIN/);
    assert.equal((await shop.get('api-http-test-r2.shop.test', '/items')).status >= 400, true);
    for (const d of ['data', 'secrets', 'logs']) assert.equal(fs.existsSync(path.join(shop.p.dir, '.kiln', d, 'test-r2')), false, `.kiln/${d}/test-r2`);
    // Not even a name left: status of it is the error of an environment that does not exist.
    const st = await shop.p.kiln(['status', '--env', 'test-r2', '--json'], { allowFail: true });
    assert.equal(st.code, 1);
    assert.equal((JSON.parse(st.stdout) as { error: { code: string } }).error.code, 'ENV_NOT_FOUND');
    const list = JSON.parse((await shop.p.kiln(['env', 'list', '--json'])).stdout) as Array<{ name: string }>;
    assert.deepEqual(list.map((e) => e.name).sort(), ['dev', 'staging']);
    // dev serves on.
    assert.equal((await shop.get('api-http-dev.shop.test', '/items')).status, 200);
  });
});

describe('kiln rebuild', () => {
  let shop: Shop;
  const tags = async (): Promise<string[]> =>
    (JSON.parse((await shop.p.kiln(['app', 'list', '--json'])).stdout) as Array<{ stream: string; tag: string }>).map((t) => `${t.stream}:${t.tag}`);
  const releases = async (): Promise<string[]> =>
    (JSON.parse((await shop.p.kiln(['release', 'list', '--json'])).stdout) as Array<{ name: string }>).map((r) => r.name);
  const actives = async (): Promise<Record<string, string | null>> =>
    Object.fromEntries((await shop.status()).clusters.map((c) => [c.name, c.active]));
  before(async () => {
    shop = await setupShop();
    // An imported busybox base instead of a Debian one (no mirror traffic in tests), and no podman
    // environment (builds run on this host): the rest of the example as it is.
    await makeRootfsTar(path.join(shop.p.dir, 'rootfs.tar'), { busybox: '1.36' });
    const file = path.join(shop.p.dir, 'kiln.yaml');
    const yaml = fs.readFileSync(file, 'utf8');
    const edited = yaml
      .replace(/^  bookworm: \{ debian: .*$/m, '  bookworm: { import: rootfs.tar }')
      .replace(/^  staging: .*$/m, '');
    assert.notEqual(edited, yaml);
    fs.writeFileSync(file, edited);
    // The first rebuild: the base gets a tag and every service an image, so a release.
    await shop.p.kiln(['rebuild']);
    await shop.p.kiln(['deploy', 'r2', '--env', 'dev']);
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('nothing changed: no new tag, no new release, and it says so', async () => {
    const [t0, r0] = [await tags(), await releases()];
    const res = await shop.p.kiln(['rebuild']);
    assert.match(res.stdout, /nothing changed: no new tag, no new release \(latest is r2\)/);
    assert.match(res.stderr, /app\/api:1\.0\.0 unchanged/);
    assert.match(res.stderr, /os\/bookworm:\S+ unchanged/);
    assert.deepEqual(await tags(), t0);
    assert.deepEqual(await releases(), r0);
  });

  test('one app file changed: one new app tag, one new image, one new release; only its clusters switch', async () => {
    const [t0, r0, a0] = [await tags(), await releases(), await actives()];
    fs.appendFileSync(path.join(shop.p.dir, 'apps', 'api', 'server.js'), '\n// rebuilt\n');
    const res = await shop.p.kiln(['rebuild', '--deploy', 'dev', '--json']);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1) as { type: string; apps: Array<{ service: string; changed: boolean; tag: string }>; images: Array<{ service: string; changed: boolean }>; release: { name: string; created: boolean }; deploy: { switched: string[]; sideBySide: string } };
    assert.equal(result.type, 'result');
    assert.ok(lines.slice(0, -1).every((l) => l.type === 'event' && typeof l.message === 'string'));
    const newTags = (await tags()).filter((t) => !t0.includes(t));
    assert.equal(newTags.length, 1);
    assert.match(newTags[0]!, /^app\/api:1\.0\.0-[0-9a-f]{8}$/);
    assert.deepEqual(result.images.filter((i) => i.changed).map((i) => i.service), ['api']);
    assert.deepEqual((await releases()).filter((r) => !r0.includes(r)), [result.release.name]);
    assert.deepEqual(result.deploy.switched.sort(), ['api-http-dev', 'api-worker-dev']);
    const a1 = await actives();
    assert.notEqual(a1['api-http-dev'], a0['api-http-dev']);
    assert.equal(a1['web-http-dev'], a0['web-http-dev'], 'web keeps its group');
    // The side-by-side environment ran first and is gone.
    assert.ok(lines.some((l) => l.kind === 'side.healthy'));
    assert.deepEqual(processesMatching(`-${result.deploy.sideBySide}-v`, shop.p.dir), []);
    assert.ok(!(JSON.parse((await shop.p.kiln(['env', 'list', '--json'])).stdout) as Array<{ name: string }>).some((e) => e.name === result.deploy.sideBySide));
    // What changed, across streams.
    const diff = (await shop.p.kiln(['release', 'diff', r0.at(-1)!, result.release.name])).stdout;
    assert.match(diff, /app app\/api:1\.0\.0 -> app\/api:1\.0\.0-[0-9a-f]{8}/);
    assert.match(diff, /image [0-9a-f]{12} -> [0-9a-f]{12}/);
    assert.doesNotMatch(diff, /web:/, 'web did not change');
  });

  test('a rebuild whose release fails health checks side by side leaves the target exactly as it was', async () => {
    const before = await shop.status();
    await shop.p.setUnhealthy('api', true);
    const res = await shop.p.kiln(['rebuild', '--deploy', 'dev'], { allowFail: true });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /dev-rebuild-\d+/);
    assert.match(res.stderr, /dev is unchanged|was not touched/);
    const afterSt = await shop.status();
    assert.deepEqual(
      afterSt.clusters.map((c) => [c.name, c.active, c.groups.map((g) => [g.name, g.state])]),
      before.clusters.map((c) => [c.name, c.active, c.groups.map((g) => [g.name, g.state])]),
    );
    assert.deepEqual(afterSt.lastDeployment, before.lastDeployment);
    assert.deepEqual(processesMatching('-dev-rebuild-', shop.p.dir), []);
    assert.equal((await shop.get('api-http-dev.shop.test', '/items')).status, 200);
  });
});
