import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildAndTagApp } from '../streams/app/index.js';
import { buildOs } from '../streams/os/index.js';
import { makeImageProject, writeContainersConf, type ImageProject } from '../streams/os/testkit.js';
import { createRelease } from '../release/index.js';
import { buildServiceImage, findServiceImage, verifyRelease } from './index.js';

async function project(t: { after: (fn: () => void) => void }): Promise<ImageProject> {
  const p = await makeImageProject();
  t.after(() => p.cleanup());
  await buildOs(p.store, p.spec, 'bb');
  await buildAndTagApp(p.store, p.spec, 'hello', '1.0.0');
  return p;
}

function run(argv: string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('two builds from the same OS and app tags give byte-identical images; one changed app file changes only the app layer', async (t) => {
  const a = await project(t);
  const b = await project(t);
  const ia = await buildServiceImage(a.store, a.spec, 'hello');
  const ib = await buildServiceImage(b.store, b.spec, 'hello');
  assert.equal(ia.digest, ib.digest);
  assert.deepEqual(fs.readFileSync(a.store.oci.blobPath(ia.digest)), fs.readFileSync(b.store.oci.blobPath(ib.digest)));
  assert.equal(ia.ref, `image/hello:${ia.digest.replace(':', '-')}`);
  assert.deepEqual(ia.layers.map((l) => l.role), ['os', 'platform', 'app']);

  fs.appendFileSync(path.join(a.dir, 'apps/hello/hello.sh'), 'echo bye\n');
  await buildAndTagApp(a.store, a.spec, 'hello', '1.0.1');
  const changed = await buildServiceImage(a.store, a.spec, 'hello');
  assert.notEqual(changed.digest, ia.digest);
  assert.deepEqual(changed.layers.map((l) => l.digest === ia.layers.find((x) => x.role === l.role)?.digest), [true, true, false]);
  // inspect finds each app tag's image.
  assert.equal(findServiceImage(a.store, 'hello').digest, changed.digest);
  assert.equal(findServiceImage(a.store, 'hello', '1.0.0').digest, ia.digest);
});

test('skopeo and umoci read the layout as it is, and podman runs the image with flags appended', async (t) => {
  const p = await project(t);
  const img = await buildServiceImage(p.store, p.spec, 'hello');
  const oci = p.store.oci.dir;

  const inspect = run(['skopeo', 'inspect', `oci:${oci}:${img.ref}`]);
  assert.equal(inspect.status, 0, inspect.stderr);
  const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[]; Labels: Record<string, string> };
  assert.equal(info.Digest, img.digest);
  assert.deepEqual(info.Layers, img.layers.map((l) => l.digest));
  assert.equal(info.Labels['dev.kiln.app'], 'app/hello:1.0.0');

  const bundle = path.join(p.dir, 'bundle');
  const unpack = run(['umoci', 'unpack', '--image', `${oci}:${img.tagRef}`, bundle]);
  assert.equal(unpack.status, 0, unpack.stderr);
  assert.equal(fs.readFileSync(path.join(bundle, 'rootfs/app/hello.sh'), 'utf8'), 'echo "hello from $(pwd): $*"\n');
  assert.ok(fs.statSync(path.join(bundle, 'rootfs/var/log/kiln')).isDirectory());
  const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; cwd: string } };
  assert.deepEqual([cfg.process.args, cfg.process.cwd], [['sh', 'hello.sh'], '/app']);

  // podman names an image pulled from oci:<dir> after the directory, which must be lower-case.
  const podRoot = path.join(p.dir, 'podman');
  const link = `/tmp/kiln-oci-${process.pid}`;
  fs.symlinkSync(oci, link);
  const podman = ['podman', '--root', path.join(podRoot, 'root'), '--runroot', path.join(podRoot, 'run')];
  const env = { CONTAINERS_CONF: writeContainersConf(p.dir) };
  t.after(() => {
    run([...podman, 'system', 'reset', '--force'], env);
    fs.rmSync(link, { force: true });
  });
  const r = run([...podman, 'run', '--rm', '--init', '--read-only', '--network', 'none', `oci:${link}:${img.ref}`, '--port', '8080'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'hello from /app: --port 8080');
});

test('kiln verify rebuilds a release\'s images to the same digests, and explains a difference', async (t) => {
  const p = await project(t);
  const img = await buildServiceImage(p.store, p.spec, 'hello');
  const rel = createRelease(p.store.db, p.store.oci, p.spec);
  const record = 'unchanged' in rel ? rel.unchanged : rel;
  const ok = await verifyRelease(p.store, record);
  assert.deepEqual(ok.services.map((s) => [s.service, s.ok, s.expected, s.actual]), [['hello', true, img.digest, img.digest]]);

  // A release whose run command differs from the image's: the diff names the field.
  const altered = structuredClone(record);
  altered.manifest.services['hello']!.run = ['sh', 'other.sh'];
  const bad = await verifyRelease(p.store, altered);
  assert.equal(bad.ok, false);
  assert.ok(bad.services[0]!.differences.some((d) => d.startsWith('config.Entrypoint: ["sh","hello.sh"] -> ["sh","other.sh"]')), bad.services[0]!.differences.join('\n'));
});
