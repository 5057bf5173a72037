// `kiln app tag` refuses the symlinks deploy refuses (issue 11, defect 14): a link that is
// absolute or leaves the app is an error at tag time naming the file, not a deploy that fails
// later while extracting the layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import type { ProjectSpec } from '../../spec/types.js';
import { initKilnDir, openStore, type Store } from '../../store/init.js';
import { removeReadOnlyTree } from '../../image/tar-extract.js';
import { buildAndTagApp, listTags, materializeApp } from './index.js';

function project(t: { after: (fn: () => void) => void }, build?: string[]): { spec: ProjectSpec; store: Store; appDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-links-'));
  t.after(() => removeReadOnlyTree(dir));
  const appDir = path.join(dir, 'apps', 'api');
  fs.mkdirSync(path.join(appDir, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(appDir, 'server.js'), 'console.log("v1")\n');
  fs.writeFileSync(path.join(appDir, 'lib', 'a.js'), 'export {}\n');
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
        app: { path: 'apps/api', run: ['node', 'server.js'], exclude: [], buildEnv: {}, ...(build ? { build } : {}) },
        roles: { http: { name: 'http', replicas: 1, port: 'http', flags: {} } },
        flags: {},
        flagsStyle: 'equals',
        args: [],
      },
    },
    environments: {},
  };
  return { spec, store, appDir };
}

const refusedNaming = (file: string, why: RegExp) => (e: unknown) => {
  assert.ok(e instanceof KilnError, String(e));
  assert.equal(e.code, 'BUILD_FAILED');
  assert.equal(e.location?.file, file);
  assert.match(e.message, why);
  assert.match(e.message, /deploy would refuse it/);
  return true;
};

test('defect 14: app tag refuses an absolute symlink, naming the file, and tags nothing', async (t) => {
  const { spec, store, appDir } = project(t);
  fs.symlinkSync('/etc/hostname', path.join(appDir, 'lib', 'host'));
  await assert.rejects(buildAndTagApp(store, spec, 'api', '1.0.0'), refusedNaming('apps/api/lib/host', /symlink target "\/etc\/hostname" is absolute/));
  assert.deepEqual(listTags(store.db, 'app/api'), []);
});

test('defect 14: app tag refuses a symlink that leaves the app, also one the build made', async (t) => {
  const { spec, store, appDir } = project(t);
  fs.symlinkSync('../../../kiln.yaml', path.join(appDir, 'lib', 'up'));
  await assert.rejects(buildAndTagApp(store, spec, 'api', '1.0.0'), refusedNaming('apps/api/lib/up', /"\.\.\/\.\.\/\.\.\/kiln\.yaml" points outside the app \(apps\/api\)/));

  const made = project(t, [process.execPath, '-e', "require('fs').symlinkSync('../x', 'escape')"]);
  await assert.rejects(buildAndTagApp(made.store, made.spec, 'api', '1.0.0'), refusedNaming('apps/api/escape', /points outside/));
  assert.deepEqual(listTags(made.store.db, 'app/api'), []);
});

test('a relative symlink inside the app is tagged and deploys (extracts) as a link', async (t) => {
  const { spec, store, appDir } = project(t);
  fs.symlinkSync('lib/a.js', path.join(appDir, 'alias.js'));
  fs.symlinkSync('../server.js', path.join(appDir, 'lib', 'main.js'));
  const r = await buildAndTagApp(store, spec, 'api', '1.0.0');
  const dir = await materializeApp(store.oci, r.tag.digest, store.kilnDir);
  assert.equal(fs.readlinkSync(path.join(dir, 'alias.js')), 'lib/a.js');
  assert.equal(fs.readFileSync(path.join(dir, 'lib', 'main.js'), 'utf8'), 'console.log("v1")\n');
});
