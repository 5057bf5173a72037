// The process runtime starts a server as the user `prepare` gives, with no supplementary group,
// and never writes a server's output through a link or into a FIFO planted in its log directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ProcessRuntime } from './process-runtime.js';
import type { ServerLaunch } from '../types.js';
import { NO_ARGS } from '../args.js';
import { LOG_FILE, PORT, secret, serverArgs } from '../testkit.js';
import { KilnError } from '../../errors.js';

function setup(t: { after: (fn: () => void) => void }): { dir: string; launch: ServerLaunch } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-proc-'));
  fs.chmodSync(dir, 0o755);
  const app = path.join(dir, 'app');
  fs.mkdirSync(app, { mode: 0o755 });
  // Reports who it is, then waits to be stopped.
  fs.writeFileSync(path.join(app, 'who.js'), "const fs=require('fs');fs.writeSync(1, fs.readFileSync('/proc/self/status','utf8'));setInterval(()=>{},1000);\n", { mode: 0o644 });
  const logs = path.join(dir, 'logs');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    launch: {
      project: 'p', env: 'dev', cluster: 'c-dev', group: 'c-dev-v001', name: 'c-dev-v001-1',
      appDir: app, run: ['node', 'who.js'], args: NO_ARGS, workDir: path.join(dir, 'work'),
      logFile: path.join(logs, 's.log'), stdoutFile: path.join(logs, 's.stdout'), stderrFile: path.join(logs, 's.stderr'),
    },
  };
}

async function waitForText(file: string, re: RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (re.test(text)) return text;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} never matched ${re}`);
}

test("a server runs as the prepared uid and gid, and none of Kiln's groups", async (t) => {
  assert.equal(process.getuid?.(), 0, 'switching users needs root (as CI runs)');
  const { launch } = setup(t);
  const uid = 0x70000400;
  const rt = new ProcessRuntime({ prepare: () => ({ uid, gid: uid + 1 }) });
  const h = await rt.start(launch);
  t.after(() => rt.stop(h, 1000));
  const status = await waitForText(launch.stdoutFile, /Groups:/);
  assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
  assert.match(status, new RegExp(`^Gid:\\s+${uid + 1}\\s+${uid + 1}\\s+${uid + 1}\\s+${uid + 1}$`, 'm'));
  assert.match(status, /^Groups:\s*$/m, 'no supplementary groups');
});

test("a link planted as a server's stdout file is refused, and its target is not written", async (t) => {
  const { dir, launch } = setup(t);
  const target = path.join(dir, 'shadow');
  fs.writeFileSync(target, 'root:secret\n', { mode: 0o600 });
  fs.mkdirSync(path.dirname(launch.stdoutFile), { recursive: true });
  fs.symlinkSync(target, launch.stdoutFile);
  const rt = new ProcessRuntime();
  await assert.rejects(rt.start(launch), (e: unknown) => e instanceof KilnError && /symbolic link/.test(e.message));
  assert.equal(fs.readFileSync(target, 'utf8'), 'root:secret\n');
});

test("a FIFO planted as a server's stderr file fails the start at once instead of hanging", async (t) => {
  const { launch } = setup(t);
  fs.mkdirSync(path.dirname(launch.stderrFile), { recursive: true });
  execFileSync('mkfifo', [launch.stderrFile]);
  const rt = new ProcessRuntime();
  await assert.rejects(rt.start(launch), (e: unknown) => e instanceof KilnError && /FIFO/.test(e.message));
});

test('the command: host paths for the files a server gets, its port and log file, in the flag style; a positional argument naming a file of the app is that file', (t) => {
  const { dir, launch } = setup(t);
  fs.mkdirSync(path.join(launch.appDir, 'public'));
  const token = secret('web_token', path.join(dir, '.kiln', 'secrets', 'dev', 'web_token@ab'));
  const { args } = new ProcessRuntime().command({
    ...launch,
    port: 4100,
    args: serverArgs([['p', PORT], ['log', LOG_FILE], ['t', token], ['quiet', true]], 'single-dash', [['public'], ['missing'], [token]]),
  });
  assert.deepEqual(args, [
    path.join(launch.appDir, 'who.js'),
    '-p', '4100', '-log', launch.logFile, '-t', path.join(dir, '.kiln', 'secrets', 'dev', 'web_token@ab'), '-quiet',
    path.join(launch.appDir, 'public'), 'missing', path.join(dir, '.kiln', 'secrets', 'dev', 'web_token@ab'),
  ]);
});
