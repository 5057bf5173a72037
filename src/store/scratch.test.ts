import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { scratchDir, sweepScratch } from './scratch.js';

const SCRATCH_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scratch.js');

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.charAt(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

test("defect 12: the sweep removes a killed owner's scratch entry, stops what still works in it and runs its recorded cleanup (a build container's podman rm)", async (t) => {
  const kilnDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-scratch-test-'));
  t.after(() => fs.rmSync(kilnDir, { recursive: true, force: true }));
  const marker = path.join(kilnDir, 'cleaned');
  // An owner that makes a build entry, records its cleanup, starts a build in it, then is killed -9.
  const owner = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { spawn } from 'node:child_process';
       import { scratchDir } from ${JSON.stringify(SCRATCH_JS)};
       const s = scratchDir(${JSON.stringify(kilnDir)}, 'build');
       s.cleanupCommand({ file: process.execPath, args: ['-e', 'require("fs").writeFileSync(${JSON.stringify(marker).replace(/"/g, '\\"')}, "x")'] });
       const b = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: s.path, stdio: 'ignore', detached: true });
       console.log(JSON.stringify({ entry: s.path, build: b.pid }));
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve) => owner.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d)));
  const { entry, build } = JSON.parse(line) as { entry: string; build: number };
  t.after(() => {
    if (alive(build)) process.kill(build, 'SIGKILL');
  });
  owner.kill('SIGKILL');
  await new Promise((resolve) => owner.once('exit', resolve));
  const mine = scratchDir(kilnDir, 'build'); // a live owner's entry: left alone
  t.after(() => mine.remove());

  const swept = sweepScratch(kilnDir);
  assert.deepEqual(swept.removed, [path.relative(kilnDir, entry)]);
  assert.deepEqual(swept.killed, [build]);
  assert.equal(fs.existsSync(entry), false);
  assert.equal(fs.existsSync(marker), true, 'the recorded cleanup ran');
  assert.equal(fs.existsSync(mine.path), true);
});
