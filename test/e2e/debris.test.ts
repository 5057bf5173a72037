// Interrupted commands leave nothing behind (issue 11, defect 12): a `kiln app tag` killed with -9
// or Ctrl-C mid-build, a `kiln secret set` killed while it writes; the next command removes what
// they left (scratch copy, the build still running in it, a temp file holding the secret value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { findRepoRoot } from './lib/project.js';
import { waitFor } from './lib/wait.js';

const KILN = path.join(findRepoRoot(), 'bin', 'kiln.js');

interface Project {
  dir: string;
  kilnDir: string;
  /** The command's TMPDIR: private, so what a command leaves in it is seen. */
  tmpDir: string;
  pidFile: string;
  env: NodeJS.ProcessEnv;
}

function project(t: { after: (fn: () => void) => void }): Project {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debris-')));
  t.after(() => {
    spawnSync('chmod', ['-R', 'u+w', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const app = path.join(dir, 'apps', 'api');
  fs.mkdirSync(app, { recursive: true });
  // Where the build says it runs: writable by any uid (a build may run as Kiln's build user).
  const pidDir = path.join(dir, 'pid');
  fs.mkdirSync(pidDir);
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(pidDir, 0o1777);
  const pidFile = path.join(pidDir, 'build.pid');
  fs.writeFileSync(path.join(app, 'server.js'), 'console.log("api")\n');
  // A build that runs until it is stopped, saying where it is.
  fs.writeFileSync(path.join(app, 'build.js'), `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nsetInterval(() => {}, 1000);\n`);
  fs.writeFileSync(path.join(app, 'big.bin'), Buffer.alloc(8 << 20, 1));
  fs.writeFileSync(
    path.join(dir, 'kiln.yaml'),
    [
      'project: debris',
      'domain: debris.test',
      'services:',
      '  api:',
      '    app: { path: apps/api, build: [node, build.js], run: [node, server.js] }',
      '    roles:',
      '      http: { replicas: 1, port: http, health: /healthz }',
      'environments:',
      '  dev: { runtime: process }',
      '',
    ].join('\n'),
  );
  const tmpDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debris-tmp-')));
  fs.chmodSync(tmpDir, 0o755);
  t.after(() => {
    spawnSync('chmod', ['-R', 'u+w', tmpDir]);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });
  const env = { ...process.env, TMPDIR: tmpDir };
  const r = spawnSync(process.execPath, [KILN, 'init'], { cwd: dir, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { dir, kilnDir: path.join(dir, '.kiln'), tmpDir, pidFile, env };
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.charAt(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** Every file and directory under `dir` (relative), [] if it does not exist. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** What is under `dir` but empty directories: what a command left there. */
function leftIn(dir: string): string[] {
  return tree(dir).filter((n) => {
    const st = fs.lstatSync(path.join(dir, n));
    return !st.isDirectory() || fs.readdirSync(path.join(dir, n)).length > 0;
  });
}

function nextCommand(p: Project): void {
  const r = spawnSync(process.execPath, [KILN, 'secret', 'list', '--env', 'dev'], { cwd: p.dir, env: p.env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

for (const signal of ['SIGKILL', 'SIGINT'] as const) {
  test(`defect 12: ${signal} to \`kiln app tag\` mid-build, then the next command leaves nothing (no scratch copy, no build process)`, async (t) => {
    const p = project(t);
    const child = spawn(process.execPath, [KILN, 'app', 'tag', 'api', '1.0.0'], { cwd: p.dir, env: p.env, stdio: 'ignore' });
    t.after(() => child.kill('SIGKILL'));
    const buildPid = await waitFor(() => fs.existsSync(p.pidFile) && Number(fs.readFileSync(p.pidFile, 'utf8')), { what: 'the build to run', timeoutMs: 60_000 });
    t.after(() => {
      if (alive(buildPid)) process.kill(buildPid, 'SIGKILL');
    });
    child.kill(signal);
    await exited(child);
    nextCommand(p);
    assert.deepEqual(leftIn(p.tmpDir), [], 'nothing in TMPDIR');
    assert.deepEqual(leftIn(path.join(p.kilnDir, 'tmp')), [], 'nothing in .kiln/tmp');
    assert.deepEqual(tree(path.join(p.kilnDir, 'oci', 'blobs', 'sha256')).filter((n) => n.startsWith('.')), [], 'no partial blob');
    await waitFor(() => !alive(buildPid), { what: `the build (pid ${buildPid}) to be stopped`, timeoutMs: 5_000 });
  });
}

test('defect 12: kill -9 of `kiln secret set` while it writes the value, then the next command leaves no temp file holding it (and it was 0600)', async (t) => {
  const p = project(t);
  const valueFile = path.join(p.dir, 'value');
  fs.writeFileSync(valueFile, Buffer.alloc(64 << 20, 's'));
  const secrets = path.join(p.kilnDir, 'secrets', 'dev');
  const temps = (): string[] => [
    ...tree(secrets).filter((n) => n !== 'web_token').map((n) => path.join(secrets, n)),
    ...tree(path.join(p.kilnDir, 'tmp')).map((n) => path.join(p.kilnDir, 'tmp', n)),
  ];
  let caught: { file: string; mode: number } | undefined;
  for (let attempt = 0; attempt < 5 && !caught; attempt++) {
    fs.rmSync(path.join(secrets, 'web_token'), { force: true });
    const input = fs.openSync(valueFile, 'r');
    const child = spawn(process.execPath, [KILN, 'secret', 'set', 'web_token', '--env', 'dev'], { cwd: p.dir, env: p.env, stdio: [input, 'ignore', 'ignore'] });
    fs.closeSync(input);
    const pid = child.pid as number;
    // Synchronous polling: the window between the temp file's creation and its rename is short.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && alive(pid)) {
      const found = temps()[0];
      if (found) {
        process.kill(pid, 'SIGKILL');
        try {
          caught = { file: found, mode: fs.statSync(found).mode & 0o777 };
        } catch {
          caught = undefined; // renamed in place just before the kill: try again
        }
        break;
      }
    }
    await exited(child);
  }
  assert.ok(caught, 'a `kiln secret set` was killed while its temp file existed');
  assert.equal(caught.mode & 0o077, 0, `the temp file ${caught.file} is private (mode ${caught.mode.toString(8)})`);
  nextCommand(p);
  assert.deepEqual(temps(), [], 'no temp file holding the secret is left');
  assert.deepEqual(leftIn(p.tmpDir), []);
});
