import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError } from '../../errors.js';
import type { ProjectSpec, AppSpec } from '../../spec/types.js';
import { initKilnDir, openStore, type Store } from '../../store/init.js';
import { MEDIA } from '../../store/oci-layout.js';
import { removeReadOnlyTree } from '../../image/tar-extract.js';
import { buildApp, buildAndTagApp, tagApp, listTags, resolveTag, appLayerDigest, extractAppLayer, materializeApp, tagProblem } from './index.js';

const isKiln = (code: string) => (e: unknown) => e instanceof KilnError && e.code === code;

function project(t: { after: (fn: () => void) => void }, app: Partial<AppSpec> = {}): { spec: ProjectSpec; store: Store; appDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-app-'));
  t.after(() => removeReadOnlyTree(dir));
  const appDir = path.join(dir, 'apps', 'api');
  fs.mkdirSync(path.join(appDir, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(appDir, 'server.js'), 'console.log("v1")\n');
  fs.writeFileSync(path.join(appDir, 'lib', 'a.js'), 'export {}\n');
  fs.mkdirSync(path.join(appDir, 'node_modules', 'dep'), { recursive: true });
  fs.writeFileSync(path.join(appDir, 'node_modules', 'dep', 'index.js'), 'stale');
  fs.mkdirSync(path.join(appDir, '.git'));
  fs.writeFileSync(path.join(appDir, '.git', 'HEAD'), 'ref');
  initKilnDir(dir);
  const store = openStore(dir);
  t.after(() => store.db.close());
  const spec: ProjectSpec = {
    file: path.join(dir, 'kiln.yaml'),
    dir,
    project: 'shop',
    domain: 'shop.test',
    proxy: { engine: 'kiln', haproxy: '/usr/sbin/haproxy', host: '127.0.0.1', port: 8080 },
    dns: { host: '127.0.0.1', port: 5353 },
    logs: { retention: {}, export: {} },
    os: {},
    data: {},
    services: {
      api: {
        name: 'api',
        app: { path: 'apps/api', run: ['node', 'server.js'], exclude: [], buildEnv: {}, ...app },
        roles: { http: { name: 'http', replicas: 2, port: 'http', flags: {} } },
        flags: {},
        flagsStyle: 'equals',
        args: [],
      },
    },
    environments: {},
  };
  return { spec, store, appDir };
}

test('buildApp runs the build in a scratch copy and stores a deterministic layer', async (t) => {
  const build = [process.execPath, '-e', "require('fs').writeFileSync('out.txt','x'); console.log('built it'); console.error('warn line')"];
  const { spec, store, appDir } = project(t, { build, exclude: ['lib'] });
  const lines: string[] = [];
  const built = await buildApp(spec, 'api', { kilnDir: store.kilnDir, onProgress: (l) => lines.push(l) });
  assert.ok(lines.includes('built it') && lines.includes('warn line'), lines.join('\n'));
  assert.equal(fs.existsSync(path.join(appDir, 'out.txt')), false, 'the source directory is never written');
  assert.ok(store.oci.hasBlob(built.digest));
  const r = spawnSync('tar', ['-tf', store.oci.blobPath(built.digest)], { encoding: 'utf8' });
  assert.deepEqual(r.stdout.trim().split('\n'), ['app/', 'app/out.txt', 'app/server.js']);
  assert.equal(built.files, 2);
  const scratch = /scratch directory (\S+)/.exec(lines.join('\n'))?.[1];
  assert.ok(scratch && !fs.existsSync(scratch), 'scratch removed');

  const again = await buildApp(spec, 'api', { kilnDir: store.kilnDir });
  assert.equal(again.digest, built.digest, 'same source, same digest');
});

test('app.output picks the artifact directory; node_modules made by the build are kept', async (t) => {
  const build = [process.execPath, '-e', "const fs=require('fs'); fs.mkdirSync('dist/node_modules/m',{recursive:true}); fs.writeFileSync('dist/main.js','1'); fs.writeFileSync('dist/node_modules/m/i.js','2')"];
  const { spec, store } = project(t, { build, output: 'dist' });
  const built = await buildApp(spec, 'api', { kilnDir: store.kilnDir });
  const r = spawnSync('tar', ['-tf', store.oci.blobPath(built.digest)], { encoding: 'utf8' });
  assert.deepEqual(r.stdout.trim().split('\n'), ['app/', 'app/main.js', 'app/node_modules/', 'app/node_modules/m/', 'app/node_modules/m/i.js']);
});

test('a failing build is BUILD_FAILED with the exit code and the last 20 lines, and cleans up', async (t) => {
  const script = "for (let i = 1; i <= 30; i++) console.log('line ' + i); process.exit(3)";
  const { spec, store } = project(t, { build: [process.execPath, '-e', script] });
  const lines: string[] = [];
  await assert.rejects(buildApp(spec, 'api', { kilnDir: store.kilnDir, onProgress: (l) => lines.push(l) }), (e: unknown) => {
    assert.ok(isKiln('BUILD_FAILED')(e));
    const k = e as KilnError;
    assert.match(k.message, /exited with code 3/);
    assert.equal(k.details.length, 21);
    assert.equal(k.details[1], 'line 11');
    assert.equal(k.details[20], 'line 30');
    return true;
  });
  const scratch = /scratch directory (\S+)/.exec(lines.join('\n'))?.[1];
  assert.ok(scratch && !fs.existsSync(scratch), 'scratch removed after a failure');

  const missing = project(t, { build: ['no-such-command-kiln-test'] });
  await assert.rejects(buildApp(missing.spec, 'api', { kilnDir: missing.store.kilnDir }), /command not found/);
  await assert.rejects(buildApp(spec, 'nope', { kilnDir: store.kilnDir }), isKiln('SERVICE_NOT_FOUND'));
});

test('tags are immutable: same content is a no-op, other content a TAG_CONFLICT naming both digests', async (t) => {
  const { spec, store, appDir } = project(t);
  const first = await buildAndTagApp(store, spec, 'api', '1.0.0');
  assert.equal(first.created, true);
  assert.equal(first.tag.stream, 'app/api');
  assert.equal(first.tag.tag, '1.0.0');
  assert.deepEqual(first.tag.source, { path: 'apps/api' });

  const ref = store.oci.getRef('app/api:1.0.0');
  assert.equal(ref?.digest, first.tag.manifestDigest);
  assert.equal(ref?.artifactType, MEDIA.appArtifact);
  assert.equal(appLayerDigest(store.oci, first.tag), first.tag.digest);

  const same = await buildAndTagApp(store, spec, 'api', '1.0.0');
  assert.equal(same.created, false);
  assert.equal(same.tag.seq, first.tag.seq);

  fs.writeFileSync(path.join(appDir, 'server.js'), 'console.log("v2")\n');
  await assert.rejects(buildAndTagApp(store, spec, 'api', '1.0.0'), (e: unknown) => {
    assert.ok(isKiln('TAG_CONFLICT')(e));
    const k = e as KilnError;
    assert.ok(k.message.includes(first.tag.digest));
    assert.match(k.message, /immutable/);
    assert.match(k.hint ?? '', /new version/);
    assert.equal(k.where(), 'app/api:1.0.0');
    return true;
  });
  const second = await buildAndTagApp(store, spec, 'api', '1.1.0');
  assert.notEqual(second.tag.digest, first.tag.digest);

  assert.deepEqual(listTags(store.db, 'app/api').map((x) => x.tag), ['1.0.0', '1.1.0']);
  assert.equal(resolveTag(store.db, 'app/api', 'head').tag, '1.1.0');
  assert.equal(resolveTag(store.db, 'app/api', '1.0.0').digest, first.tag.digest);
  assert.throws(() => resolveTag(store.db, 'app/api', '9.9.9'), (e: unknown) => {
    assert.ok(isKiln('TAG_NOT_FOUND')(e));
    assert.match((e as KilnError).message, /1\.1\.0, 1\.0\.0/);
    return true;
  });
  assert.throws(() => resolveTag(store.db, 'app/web', 'head'), /app\/web has no tags; run `kiln app tag web <version>`/);

  // The layer extracts to the app's files, read-only.
  const dest = path.join(spec.dir, 'extracted');
  await extractAppLayer(store.oci, second.tag.digest, dest);
  assert.equal(fs.readFileSync(path.join(dest, 'server.js'), 'utf8'), 'console.log("v2")\n');
  assert.equal(fs.statSync(path.join(dest, 'server.js')).mode & 0o222, 0);
  assert.equal(fs.existsSync(path.join(dest, 'node_modules')), false, 'node_modules of the source are not copied');
  assert.equal(fs.existsSync(path.join(dest, '.git')), false);

  // materializeApp extracts once into .kiln/apps/<hex> and reuses it.
  const shared = await materializeApp(store.oci, first.tag.digest, store.kilnDir);
  assert.equal(shared, path.join(store.kilnDir, 'apps', first.tag.digest.slice(7)));
  assert.equal(fs.readFileSync(path.join(shared, 'server.js'), 'utf8'), 'console.log("v1")\n');
  assert.equal(await materializeApp(store.oci, first.tag.digest, store.kilnDir), shared);
  assert.deepEqual(fs.readdirSync(path.join(store.kilnDir, 'apps')), [first.tag.digest.slice(7)]);
});

test('bad version names are refused before anything is built', async (t) => {
  const marker = path.join(os.tmpdir(), `kiln-built-marker-${process.pid}`);
  const { spec, store } = project(t, { build: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`] });
  for (const bad of ['head', 'latest', 'HEAD', '../x', '1..2', '-1', '.hidden', 'a/b', '', 'x'.repeat(129)]) {
    assert.ok(tagProblem(bad), bad);
    await assert.rejects(buildAndTagApp(store, spec, 'api', bad), isKiln('NAME_INVALID'));
  }
  assert.equal(fs.existsSync(marker), false, 'the build never ran');
  for (const good of ['1.0.0', 'v2', '2026.11.26', '1.0.0-rc.1', '_x', 'A_b-C.d']) assert.equal(tagProblem(good), null, good);
  assert.throws(() => tagApp(store.db, store.oci, 'api', 'latest', { digest: 'sha256:' + '0'.repeat(64), size: 1 }, {}), isKiln('NAME_INVALID'));
});

test("a build sees only its declared build-env and PATH/LANG/TZ/HOME/TMPDIR, runs as the build user, can't read .kiln, and the tag records build-env", async (t) => {
  // Writes its environment, its uid and what reading the API token gave into the artifact.
  const script =
    "const fs=require('fs');let token;try{fs.readFileSync(process.env.PROBE);token='read'}catch(e){token=e.code}" +
    "fs.writeFileSync('seen.json',JSON.stringify({env:process.env,uid:process.getuid(),groups:process.getgroups(),token}))";
  const { spec, store } = project(t, { build: [process.execPath, '-e', script], buildEnv: { NODE_ENV: 'production', PROBE: '' } });
  const token = path.join(store.kilnDir, 'run', 'token');
  spec.services.api!.app.buildEnv.PROBE = token;
  process.env.KILN_TEST_LEAK = 'must not reach the build';
  t.after(() => delete process.env.KILN_TEST_LEAK);
  const r = await buildAndTagApp(store, spec, 'api', '1.0.0');
  assert.deepEqual(r.tag.source.buildEnv, { NODE_ENV: 'production', PROBE: token }, 'recorded in the tag');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-app-out-'));
  t.after(() => removeReadOnlyTree(out));
  await extractAppLayer(store.oci, r.tag.digest, out);
  const seen = JSON.parse(fs.readFileSync(path.join(out, 'seen.json'), 'utf8')) as { env: Record<string, string>; uid: number; groups: number[]; token: string };
  assert.deepEqual(Object.keys(seen.env).sort(), ['HOME', 'LANG', 'NODE_ENV', 'PATH', 'PROBE', 'TMPDIR', 'TZ']);
  assert.equal(seen.env.NODE_ENV, 'production');
  assert.equal(seen.env.LANG, 'C.UTF-8');
  assert.match(seen.env.HOME!, /kiln-scratch-[0-9a-f]+\/build-\d+-[0-9a-f]+\/home$/, 'HOME is in the scratch directory');
  if (process.getuid?.() === 0) {
    assert.notEqual(seen.uid, 0, 'as root, the build runs as the unprivileged build user');
    assert.deepEqual(seen.groups, [seen.uid], 'with only its own group');
    assert.equal(seen.token, 'EACCES', 'and cannot read .kiln');
  }
});
