// A full disk and a read-only .kiln, on real filesystems: the project's .kiln is a small tmpfs
// (the tests run as root), filled with a filler file, then remounted read-only. Every writing
// command fails with a clear error and exit 1, leaves no temp file and no half-written blob, tag
// or index, state.db stays intact and every earlier tag and release still reads back. The running
// control plane survives the full disk, reports it, and recovers when space returns.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { makeReleasedProject, type ServerProc, type TestProject } from './lib/project.js';
import { killProjectProcesses } from './lib/processes.js';
import { waitFor } from './lib/wait.js';
import { SHOP_TOKEN } from './lib/shop.js';

const SIZE = '32m';

/** Every file under `dir` (relative), sizes included: a listing to compare before and after. */
function listing(dir: string, skip: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      const rel = path.relative(dir, f);
      if (skip.test(rel)) continue;
      if (e.isDirectory()) walk(f);
      else if (e.isFile()) out.push(`${rel} ${fs.statSync(f).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

function integrity(kiln: string): string {
  const db = new Database(path.join(kiln, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

describe('full disk and read-only .kiln', () => {
  let p: TestProject;
  let kiln: string;
  let mounted = false;
  let server: ServerProc | null = null;

  before(async () => {
    p = await makeReleasedProject();
    await p.kiln(['secret', 'set', 'web_token', '--env', 'dev'], { input: SHOP_TOKEN });
    // The store moves onto its own small filesystem: filling it never touches the real disk.
    kiln = path.join(p.dir, '.kiln');
    const orig = path.join(p.dir, '.kiln-orig');
    fs.renameSync(kiln, orig);
    fs.mkdirSync(kiln);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', kiln]);
    mounted = true;
    execFileSync('cp', ['-a', `${orig}/.`, `${kiln}/`]);
    fs.rmSync(orig, { recursive: true, force: true });
    server = await p.startServer();
    await p.kiln(['deploy', 'r1', '--env', 'dev']);
  });

  after(async () => {
    server?.kill('SIGKILL');
    await server?.exited;
    await killProjectProcesses(p.dir);
    if (mounted) {
      try {
        execFileSync('umount', [kiln]);
      } catch {
        execFileSync('umount', ['-l', kiln]);
      }
    }
    await p?.cleanup();
  });

  const filler = (): string => path.join(kiln, 'filler');
  const fill = async (): Promise<void> => {
    // A tag not released yet, so `release create` has something to write.
    await p.bumpVersion('api', '1.1.0');
    await p.kiln(['app', 'tag', 'api', '1.1.0']);
    // Everything but nothing: fallocate takes every free block of the tmpfs.
    // The running control plane writes too: take what is free, then top up until nothing is.
    for (let i = 0; fs.statfsSync(kiln).bavail > 0 && i < 20; i++) {
      const st = fs.statfsSync(kiln);
      try {
        execFileSync('fallocate', ['-l', String(st.bavail * st.bsize), `${filler()}-${i}`]);
      } catch {
        fs.rmSync(`${filler()}-${i}`, { force: true });
        execFileSync('fallocate', ['-l', String(Math.floor(st.bavail / 2) * st.bsize), `${filler()}-${i}`]);
      }
    }
    const left = fs.statfsSync(kiln);
    assert.equal(left.bavail, 0, 'the filesystem is full');
  };

  const writers = (version: string): Array<{ args: string[]; input?: string; prep?: () => Promise<void> }> => [
    { args: ['app', 'tag', 'api', version], prep: () => p.bumpVersion('api', version) },
    { args: ['release', 'create'] },
    { args: ['secret', 'set', 'web_token', '--env', 'dev'], input: 'another-secret-value' },
    { args: ['data', 'snapshot', 'orders', '--env', 'dev'] },
  ];

  /** What must hold after a refused write: nothing changed, nothing half-made, all still readable. */
  const assertIntact = async (before: string[], skip: RegExp, version: string): Promise<void> => {
    assert.deepEqual(listing(kiln, skip), before, 'no new, removed or resized file in .kiln (no temp file, no partial blob)');
    assert.equal(integrity(kiln), 'ok');
    const rel = JSON.parse((await p.kiln(['release', 'show', 'r1', '--json'])).stdout) as { name: string };
    assert.equal(rel.name, 'r1');
    const tags = (await p.kiln(['app', 'list'])).stdout;
    assert.match(tags, /1\.0\.0/);
    assert.doesNotMatch(tags, new RegExp(version.replaceAll('.', '\\.')));
  };

  test('a full disk: each writing command says so, exit 1, and changes nothing; the control plane survives and recovers', async (t) => {
    await fill();
    // The running control plane and its servers keep writing logs and events: exclude those.
    // SQLite's own -wal/-shm side files come and go with every open: they are not data.
    const skip = /^(logs|run|logs\.db.*|filler.*)(\/|$| )|\.db-(wal|shm)$/;
    const before = listing(kiln, skip);
    for (const w of writers('1.2.0')) {
      await w.prep?.();
      const r = await p.kiln(w.args, { allowFail: true, ...(w.input ? { input: w.input } : {}) });
      t.diagnostic(`kiln ${w.args.join(' ')} -> ${r.code}: ${r.stderr.trim().split('\n').join(' | ')}`);
      assert.equal(r.code, 1, `kiln ${w.args.join(' ')}\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /no space left on the filesystem holding .*\.kiln/);
      assert.match(r.stderr, /free space on the filesystem of .*\.kiln/);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
      await assertIntact(before, skip, '1.2.0');
    }
    const d = await p.kiln(['deploy', 'r1', '--env', 'dev', '--json'], { allowFail: true });
    t.diagnostic(`kiln deploy -> ${d.code}: ${d.stderr.trim().split('\n').join(' | ')}`);
    assert.equal(d.code, 1);
    assert.match(d.stderr + d.stdout, /no space left|DISK_FULL/);
    // The control plane is still there and answers.
    assert.equal(server!.exited && (await Promise.race([server!.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 200))])), 'running');
    const st = JSON.parse((await p.kiln(['status', '--env', 'dev', '--json'])).stdout) as { storage?: { ok: boolean; message: string } };
    assert.equal(st.storage?.ok, false, JSON.stringify(st.storage));
    assert.match(st.storage?.message ?? '', /no space left/);
    // Space returns: the control plane says so, and the same commands work.
    for (const f of fs.readdirSync(kiln)) if (f.startsWith('filler')) fs.rmSync(path.join(kiln, f));
    await waitFor(async () => (JSON.parse((await p.kiln(['status', '--env', 'dev', '--json'])).stdout) as { storage?: { ok: boolean } }).storage?.ok === true, {
      timeoutMs: 20_000,
      what: 'storage reported ok again',
    });
    assert.equal(integrity(kiln), 'ok');
    for (const w of writers('1.2.0')) await p.kiln(w.args, w.input ? { input: w.input } : {});
    await p.kiln(['deploy', 'r2', '--env', 'dev']);
    const events = (await p.kiln(['status', '--env', 'dev'])).stdout;
    t.diagnostic(events.split('\n').slice(0, 3).join(' | '));
  });

  test('a read-only .kiln: each writing command says so, exit 1, and changes nothing', async (t) => {
    // A filesystem with files open for writing cannot be remounted read-only: stop everything.
    server?.kill('SIGTERM');
    await server?.exited;
    server = null;
    await killProjectProcesses(p.dir);
    const skip = /^(logs|run)(\/|$| )|\.db-(wal|shm)$/;
    execFileSync('mount', ['-o', 'remount,ro', kiln]);
    try {
      const before = listing(kiln, skip);
      for (const w of writers('1.3.0')) {
        await w.prep?.();
        const r = await p.kiln(w.args, { allowFail: true, ...(w.input ? { input: w.input } : {}) });
        t.diagnostic(`kiln ${w.args.join(' ')} -> ${r.code}: ${r.stderr.trim().split('\n').join(' | ')}`);
        assert.equal(r.code, 1, `kiln ${w.args.join(' ')}\n${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /\.kiln is read-only/);
        assert.match(r.stderr, /remount it read-write/);
        assert.deepEqual(listing(kiln, skip), before);
      }
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', kiln]);
    }
    assert.equal(integrity(kiln), 'ok');
    for (const r of ['r1', 'r2']) assert.equal((JSON.parse((await p.kiln(['release', 'show', r, '--json'])).stdout) as { name: string }).name, r);
  });
});
