// The README's first command on a machine without podman, skopeo or mmdebstrap (issue 13): the
// demo (scripts/demo.js) deploys the shop, runs again after an app edit and deploys that, shows a
// failed control-plane start's reason itself, and only a deploy to the podman environment is
// refused, naming it and the missing programs, with nothing changed.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { makeProject, type RunResult, type TestProject } from './lib/project.js';
import { waitFor } from './lib/wait.js';
import { findsProgram, pathWithout, type FilteredPath } from './lib/path-without.js';

const MISSING = ['podman', 'skopeo', 'mmdebstrap'];

describe('the demo on a machine without podman, skopeo and mmdebstrap', () => {
  let p: TestProject;
  let bin: FilteredPath;
  const env = (): Record<string, string> => ({ PATH: bin.PATH });

  /** `node scripts/demo.js <project>` as `npm run demo` runs it (after the build), on the filtered PATH. */
  const demo = (): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(p.repoRoot, 'scripts', 'demo.js'), p.dir], {
        cwd: p.repoRoot,
        env: { ...process.env, PATH: bin.PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
      child.on('error', reject);
      // 'exit': the control plane the demo leaves running holds no pipe of ours (its output is
      // server.log), but wait for the output we have anyway.
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128, stdout, stderr });
      });
    });

  before(async () => {
    bin = pathWithout(MISSING);
    p = await makeProject();
  });
  after(async () => {
    if (p) {
      await p.kiln(['down'], { env: env(), allowFail: true });
      await p.cleanup();
    }
    bin?.cleanup();
  });

  test('the filtered PATH lacks exactly those programs', () => {
    for (const t of MISSING) assert.equal(findsProgram(t, bin.PATH), false, `${t} is still on the PATH`);
    assert.equal(findsProgram('node', bin.PATH), true);
  });

  test('first run: the shop deploys and answers through its load balancer', async () => {
    const r = await demo();
    assert.equal(r.code, 0, `demo failed\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    assert.match(r.stdout, /\$ kiln deploy r1 --env dev/);
    assert.match(r.stdout, /web 1\.0\.0 \(built\), api 1\.0\.0/);
    assert.match(r.stdout, /"engine":"sqlite"/);
    assert.doesNotMatch(r.stdout + r.stderr, /not installed/);
    // The port the demo used is the project's (kiln.yaml as Kiln reads it), not the example's 7080.
    assert.match(r.stdout, new RegExp(`http://127\\.0\\.0\\.1:${p.proxyPort}/`));
  });

  test('after an app edit, the demo runs again and deploys the edit as the next release', async () => {
    await p.bumpVersion('api', '1.1.0');
    const r = await demo();
    assert.equal(r.code, 0, `demo failed\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    assert.match(r.stdout, /app\/api:1\.1\.0 sha256:[0-9a-f]{64}\n/);
    assert.match(r.stdout, /app\/web:1\.0\.0 sha256:[0-9a-f]{64} \(already tagged with this content\)/);
    assert.match(r.stdout, /\$ kiln deploy r2 --env dev/);
    assert.match(r.stdout, /web 1\.0\.0 \(built\), api 1\.1\.0/);
    // The orders of the first run are still there, plus this run's.
    const orders = /"orders":(\[.*\])/.exec(r.stdout)?.[1];
    assert.equal((JSON.parse(orders ?? '[]') as unknown[]).length, 2);
  });

  test('an edit without a new version: the demo says what to do, and nothing is released', async () => {
    const server = path.join(p.dir, 'apps', 'api', 'server.js');
    const before = fs.readFileSync(server, 'utf8');
    fs.appendFileSync(server, '// edited\n');
    try {
      const r = await demo();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /apps\/api changed since app\/api:1\.1\.0 was tagged/);
      assert.match(r.stderr, /give it a new "version" in .*apps\/api\/package\.json/);
      const releases = JSON.parse((await p.kiln(['release', 'list', '--json'], { env: env() })).stdout) as unknown[];
      assert.equal(releases.length, 2);
    } finally {
      fs.writeFileSync(server, before);
    }
  });

  test('a deploy to the podman environment names it and the missing programs; nothing changes', async () => {
    const before = await p.kiln(['status', '--json'], { env: env() });
    const r = await p.kiln(['deploy', 'r2', '--env', 'staging'], { env: env(), allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /environment staging runs on podman, but podman and skopeo are not installed on this machine/);
    assert.match(r.stderr, /hint: install them: apt-get install/);
    const after = await p.kiln(['status', '--json'], { env: env() });
    assert.deepEqual(clustersOf(after.stdout), clustersOf(before.stdout));
    assert.equal(clustersOf(after.stdout).some((c) => c.includes('staging')), false);
  });

  test('kiln os build without mmdebstrap: what to install, not a stack trace', async () => {
    const r = await p.kiln(['os', 'build', 'bookworm'], { env: env(), allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kiln: mmdebstrap is not installed on this machine/);
    assert.match(r.stderr, /hint: install it: apt-get install -y mmdebstrap/);
    assert.doesNotMatch(r.stderr, /ENOENT|at ChildProcess/);
    assert.equal(JSON.parse((await p.kiln(['os', 'list', '--json'], { env: env() })).stdout).length, 0);
  });

  test('a control plane that cannot start: the demo shows why', async () => {
    await p.kiln(['down'], { env: env() });
    // Kiln's DNS port taken: the control plane stops with an error naming it.
    // (The stopped control plane lets go of it a moment after `kiln down` answers.)
    const blocker = await waitFor(() => bindUdp(p.dnsPort), { timeoutMs: 15_000, what: `UDP port ${p.dnsPort} to be free` });
    try {
      const r = await demo();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /demo: the control plane did not start \(exit 1\); it said:/);
      assert.match(r.stderr, new RegExp(`DNS server cannot listen on 127\\.0\\.0\\.1:${p.dnsPort}`));
    } finally {
      blocker.close();
    }
  });
});

function bindUdp(port: number): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => (s.close(), resolve(null)));
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

function clustersOf(statusJson: string): string[] {
  const s = JSON.parse(statusJson) as { clusters?: Array<{ name: string }> };
  return (s.clusters ?? []).map((c) => c.name).sort();
}
