// Stopping a process server ends its whole tree (tree.ts): real processes, found again by /proc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRuntime } from './process-runtime.js';
import type { ServerHandle } from '../types.js';
import { NO_ARGS } from '../args.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Live processes whose command line holds `tag`. */
function tagged(tag: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(tag)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * A server that forks a child which ignores SIGTERM (same process group) and, through a parent
 * that exits at once, a `setsid` grandchild (own session and group, re-parented to init).
 */
function forkingServer(tag: string): string {
  const keep = `setInterval(() => {}, 1000)`;
  // Each process's tag is computed, so only that process's command line holds it.
  const mid = `require('node:child_process').spawn(process.execPath, ['-e', '${keep}', process.argv[1].replace(/-mid$/, '-setsid')], { detached: true, stdio: 'ignore' }).unref()`;
  return [
    `const { spawn } = require('node:child_process');`,
    `const tag = '${tag}';`,
    `spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); ${keep}", tag + '-stubborn'], { stdio: 'ignore' });`,
    `spawn(process.execPath, ['-e', ${JSON.stringify(mid)}, tag + '-mid'], { stdio: 'ignore' });`,
    `process.on('SIGTERM', () => process.exit(0));`,
    keep,
  ].join('\n');
}

async function startForking(t: { after(fn: () => void | Promise<void>): void }, rt: ProcessRuntime, tag: string): Promise<ServerHandle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-tree-'));
  t.after(() => {
    for (const pid of tagged(tag)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const h = await rt.start({
    project: 'shop', env: 'dev', cluster: 'api-worker-dev', group: 'api-worker-dev-v001', name: 'api-worker-dev-v001-1',
    appDir: dir, run: ['node', '-e', forkingServer(tag)], args: NO_ARGS, workDir: path.join(dir, 'servers', 'api-worker-dev-v001-1'),
    logFile: path.join(dir, 'x.log'), stdoutFile: path.join(dir, 'x.stdout'), stderrFile: path.join(dir, 'x.stderr'),
  });
  // And the setsid grandchild's parent gone: it exits on its own, a moment after spawning it;
  // still there, it is a third descendant the tests would count (a flake under load).
  await until('both descendants', () => tagged(`${tag}-stubborn`).length === 1 && tagged(`${tag}-setsid`).length === 1 && tagged(`${tag}-mid`).length === 0);
  return h;
}

test('defect 11: stopping a server ends a child that ignores SIGTERM and a setsid grandchild', async (t) => {
  const rt = new ProcessRuntime();
  const tag = `kiln-tree-${process.pid}-a`;
  const h = await startForking(t, rt, tag);
  await rt.stop(h, 500);
  assert.equal(await rt.isAlive(h), false);
  assert.deepEqual(tagged(tag), [], 'no descendant survives the stop');
});

test('defect 11: a server killed with SIGKILL: stopping its handle afterwards still ends what it left behind', async (t) => {
  const rt = new ProcessRuntime();
  const tag = `kiln-tree-${process.pid}-b`;
  const h = await startForking(t, rt, tag);
  process.kill(h.pid!, 'SIGKILL');
  await until('the server to die', async () => !(await rt.isAlive(h)));
  assert.equal(tagged(tag).length, 2, 'its descendants outlive it');
  await rt.stop(h, 0); // what the reconciler's release of a dead server does
  assert.deepEqual(tagged(tag), []);
});
