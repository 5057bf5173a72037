// One contract for every command (issue 13, items 2, 3, 5, 6, 11), as a user sees it: what is
// printed where, the exit code, and that a refused command changes no file.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setupShop, SHOP_TOKEN, type Shop } from './lib/shop.js';
import type { CliErrorBody } from '../../src/cli/error-output.js';

const errorOf = (stdout: string): CliErrorBody => (JSON.parse(stdout) as { error: CliErrorBody }).error;

describe('the CLI contract', () => {
  let shop: Shop;
  let specFile: string;
  let spec: string;
  before(async () => {
    shop = await setupShop();
    specFile = path.join(shop.p.dir, 'kiln.yaml');
    spec = fs.readFileSync(specFile, 'utf8');
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('a kiln.yaml typo reaches deploy and env create with its file:line:column and the suggestion; rollback still works', async () => {
    const r2 = await shop.releaseApi('1.1.0');
    await shop.p.kiln(['deploy', r2, '--env', 'dev']);
    // web's role: "health" misspelt.
    const typo = spec.replace('http: { replicas: 2, port: http, health: /healthz }', 'http: { replicas: 2, port: http, helth: /healthz }');
    assert.notEqual(typo, spec);
    const line = typo.split('\n').findIndex((l) => l.includes('helth')) + 1;
    fs.writeFileSync(specFile, typo);
    try {
      for (const args of [['deploy', 'r1', '--env', 'dev'], ['env', 'create', 'try-r1', '--release', 'r1']]) {
        const r = await shop.p.kiln(args, { allowFail: true });
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, new RegExp(`kiln\\.yaml:${line}:\\d+: .*helth`), r.stderr);
        assert.match(r.stderr, /did you mean "health"\?/);
        assert.doesNotMatch(r.stderr, /the control plane reported an error/);
        const j = errorOf((await shop.p.kiln([...args, '--json'], { allowFail: true })).stdout);
        assert.equal(j.code, 'SPEC_INVALID');
        assert.equal(j.errors?.[0]?.location?.line, line);
        assert.match(String(j.errors?.[0]?.hint), /health/);
      }
      // Going back needs nothing from kiln.yaml: the kept group carries its own configuration.
      const rb = await shop.p.kiln(['rollback', '--env', 'dev']);
      assert.match(rb.stderr, new RegExp(`kiln\\.yaml does not load \\(.*kiln\\.yaml:${line}:`));
      assert.match(rb.stdout, /api-http-dev: api-http-dev-v\d+ -> api-http-dev-v001/);
    } finally {
      fs.writeFileSync(specFile, spec);
    }
    // What serves comes first in status, also after the rollback.
    const st = await shop.p.kiln(['status', '--env', 'dev']);
    assert.equal(st.stdout.split('\n')[0], 'dev: r1 serves');
  });

  test('global options before the verb: -C from another directory, --env, --json', () => {
    const bin = path.join(shop.p.repoRoot, 'bin', 'kiln.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: os.tmpdir(), encoding: 'utf8' });
    const r = run('-C', shop.p.dir, '--env', 'dev', '--json', 'status');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { env: string }).env, 'dev');
    const envLs = run('-C', shop.p.dir, 'env', 'ls');
    assert.equal(envLs.status, 0, envLs.stderr);
    assert.match(envLs.stdout.split('\n')[0] ?? '', /^ENV +RUNTIME +SERVES +CLUSTERS +LAST +FROM$/);
    assert.match(envLs.stdout, /^dev +process +r1 /m);
    assert.doesNotMatch(envLs.stdout, /\u001b\[/, 'no colour in a pipe');
    // --env before the verb is context: a verb without one ignores it; after the verb it is refused.
    const ctx = run('-C', shop.p.dir, '--env', 'dev', 'release', 'ls');
    assert.equal(ctx.status, 0, ctx.stderr);
    assert.match(ctx.stdout.split('\n')[0] ?? '', /^RELEASE +DIGEST +PARENT +CREATED$/);
    assert.equal(run('-C', shop.p.dir, 'release', 'ls', '--env', 'dev').status, 2);
  });

  test('an unknown or mistyped command is an error on stderr, exit 2, nothing on stdout', async () => {
    for (const [args, said] of [
      [['app', 'bogus'], /unknown command "kiln app bogus"/],
      [['app'], /kiln app needs a command: tag, list/],
      [['relase', 'list'], /did you mean "kiln release list"\?/],
      [['status', '--evn', 'dev'], /did you mean --env\?/],
    ] as const) {
      const r = await shop.p.kiln([...args], { allowFail: true });
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, said);
    }
    const group = await shop.p.kiln(['env', '--help']);
    assert.match(group.stdout, /env create/);
  });

  test('exit codes: an unknown environment and an unknown service are both 1; a missing --env is 2', async () => {
    const env = await shop.p.kiln(['flags', 'api', '--env', 'nope', '--json'], { allowFail: true });
    const svc = await shop.p.kiln(['flags', 'nope', '--env', 'dev', '--json'], { allowFail: true });
    assert.deepEqual([env.code, errorOf(env.stdout).code], [1, 'ENV_NOT_FOUND']);
    assert.deepEqual([svc.code, errorOf(svc.stdout).code], [1, 'SERVICE_NOT_FOUND']);
    const flags = JSON.parse((await shop.p.kiln(['flags', 'api', '--env', 'dev', '--json'])).stdout) as { clusters: Array<{ flags: string[] }> };
    assert.ok(flags.clusters[0]?.flags.includes('--greeting=hello'), 'rendered flags are argv words, as in deploy --dry-run --json');
  });

  test('differences found: release diff and deploy --dry-run with --exit-code say 3, sameness 0', async () => {
    assert.equal((await shop.p.kiln(['release', 'diff', 'r1', 'r2', '--exit-code'], { allowFail: true })).code, 3);
    assert.equal((await shop.p.kiln(['release', 'diff', 'r1', 'r1', '--exit-code'])).code, 0);
    assert.equal((await shop.p.kiln(['release', 'diff', 'r1', 'r2'])).code, 0, 'without --exit-code a diff is not a failure');
    assert.equal((await shop.p.kiln(['deploy', 'r1', '--env', 'dev', '--dry-run', '--exit-code'])).code, 0, 'r1 serves: nothing to change');
    assert.equal((await shop.p.kiln(['deploy', 'r2', '--env', 'dev', '--dry-run', '--exit-code'], { allowFail: true })).code, 3);
  });

  test('--json on every command: secret set, secret rm, schema', async () => {
    const set = JSON.parse((await shop.p.kiln(['secret', 'set', 'spare', '--env', 'dev', '--json'], { input: 'v' })).stdout) as { name: string; mode: string };
    assert.equal(set.name, 'spare');
    assert.match(set.mode, /^0[46]00$/, 'readable by its owner only (0400 for the servers\' uid when Kiln is root)');
    const rm = JSON.parse((await shop.p.kiln(['secret', 'rm', 'spare', '--env', 'dev', '--json'])).stdout) as { removed: string[] };
    assert.equal(rm.removed[0], 'spare');
    assert.deepEqual(JSON.parse((await shop.p.kiln(['secret', 'ls', '--env', 'dev', '--json'])).stdout), ['web_token']);
    const again = await shop.p.kiln(['secret', 'rm', 'spare', '--env', 'dev'], { allowFail: true });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /secret "spare" is not set for environment dev/);
    const schema = JSON.parse((await shop.p.kiln(['schema', '--json'])).stdout) as { $schema?: string; properties?: object };
    assert.ok(schema.properties);
  });

  test('a secret given as an argument is never echoed back', async () => {
    const value = 'postgres://orders:Hunter2-pw@db.internal/orders';
    for (const args of [
      ['secret', 'set', 'orders_url', value, '--env', 'dev'],
      ['secret', 'set', value, '--env', 'dev'],
      ['secret', 'set', value],
      ['secret', 'set', 'web_token', SHOP_TOKEN, '--json'],
    ]) {
      const r = await shop.p.kiln(args, { allowFail: true, input: '' });
      assert.equal(r.code, 2, args.join(' '));
      const secret = args.includes(SHOP_TOKEN) ? SHOP_TOKEN : value;
      assert.ok(!r.stderr.includes(secret) && !r.stderr.includes('Hunter2'), r.stderr);
      assert.ok(!r.stdout.includes(secret), r.stdout);
    }
  });

  test('data commands need --env: exit 2, the environments listed, no store created', async () => {
    const dataDir = path.join(shop.p.dir, '.kiln', 'data');
    const before = fs.readdirSync(dataDir, { recursive: true }).sort();
    const r = await shop.p.kiln(['data', 'status', 'orders'], { allowFail: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing --env <env>/);
    assert.match(r.stderr, /environments: dev, staging/);
    assert.deepEqual(fs.readdirSync(dataDir, { recursive: true }).sort(), before);
    const ok = JSON.parse((await shop.p.kiln(['--env', 'dev', 'data', 'status', 'orders', '--json'])).stdout) as { env: string };
    assert.equal(ok.env, 'dev');
  });

  test('init in a directory without kiln.yaml writes a starter that works with the next commands', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-init-'));
    try {
      fs.writeFileSync(path.join(dir, 'server.js'), 'require("http").createServer((q, s) => s.end("ok")).listen(0);\n');
      const bin = path.join(shop.p.repoRoot, 'bin', 'kiln.js');
      const init = spawnSync(process.execPath, [bin, '-C', dir, 'init'], { encoding: 'utf8' });
      assert.equal(init.status, 0, init.stderr);
      assert.match(init.stderr, /wrote .*kiln\.yaml: a starter/);
      const tag = spawnSync(process.execPath, [bin, '-C', dir, 'app', 'tag', 'web', '0.1.0', '--json'], { encoding: 'utf8' });
      assert.equal(tag.status, 0, tag.stderr);
      // A second init changes nothing, the starter included.
      const yaml = fs.readFileSync(path.join(dir, 'kiln.yaml'), 'utf8');
      assert.equal(spawnSync(process.execPath, [bin, '-C', dir, 'init'], { encoding: 'utf8' }).status, 0);
      assert.equal(fs.readFileSync(path.join(dir, 'kiln.yaml'), 'utf8'), yaml);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
