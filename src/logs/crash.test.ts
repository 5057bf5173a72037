// The promise of the log store: 100,000 lines written by several servers while the tailer is
// killed with SIGKILL mid-way and started again, with one file rotated meanwhile — every line
// is in the store exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { LogTailer } from './tailer.js';
import { source, tempLogs } from './testkit.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITERS = 4;
const PER_WRITER = 25_000;

function run(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [path.join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function exited(c: ChildProcess): Promise<number | null> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));
}

async function startTailer(dbFile: string, sourcesFile: string): Promise<ChildProcess> {
  const c = run('testkit-tail.js', [dbFile, sourcesFile]);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`tailer exited with ${code}`)));
  });
  return c;
}

test('100,000 lines, a SIGKILLed tailer and a rotation: every line stored exactly once', { timeout: 120_000 }, async () => {
  const t = tempLogs();
  const children: ChildProcess[] = [];
  let counter: BetterSqlite3.Database | undefined;
  try {
    const sources = Array.from({ length: WRITERS }, (_, i) => source(t.dir, `web-http-dev-v001-${i + 1}`, i % 2 ? 'stdout' : 'log'));
    const sourcesFile = path.join(t.dir, 'sources.json');
    writeFileSync(sourcesFile, JSON.stringify(sources));
    const count = (): number => {
      try {
        return (counter!.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM chunks').get() as { n: number }).n;
      } catch {
        return 0; // not created yet
      }
    };

    let tailer = await startTailer(t.dbFile, sourcesFile);
    children.push(tailer);
    counter = new BetterSqlite3(t.dbFile, { readonly: true });
    const writers = sources.map((s, i) => run('testkit-write.js', [s.path, `w${i}`, String(PER_WRITER), i === 0 ? '12005' : '']));
    children.push(...writers);

    // Kill it hard twice while lines are flowing, each time starting a new one on the same
    // logs.db. The first time, writer 0 rotates its file while no tailer runs: the new tailer
    // must find the renamed file by its inode and finish it.
    const rotated = sources[0]!.path;
    for (const threshold of [15_000, 45_000]) {
      while (count() < threshold) await sleep(5);
      tailer.kill('SIGKILL');
      await exited(tailer);
      if (threshold === 15_000) {
        writeFileSync(`${rotated}.rotate-now`, '');
        while (!existsSync(`${rotated}.rotated`)) await sleep(5);
      }
      tailer = await startTailer(t.dbFile, sourcesFile);
      children.push(tailer);
    }
    for (const w of writers) assert.equal(await exited(w), 0, 'writer finished');
    // Wait for the tailer to catch up; give up (and let the checks below say what is wrong)
    // when the count stops moving.
    for (let last = -1, still = 0; count() < WRITERS * PER_WRITER && still < 200; ) {
      await sleep(25);
      const n = count();
      still = n === last ? still + 1 : 0;
      last = n;
      assert.equal(tailer.exitCode, null, 'tailer still running');
    }
    tailer.kill('SIGTERM');
    await exited(tailer);

    // One more pass in this process must find nothing new (no line is read twice).
    const store = t.open();
    const last = new LogTailer(store, { watch: false, rotationGraceMs: 0 });
    last.setSources(sources);
    assert.equal(await last.pollOnce(), 0);
    await last.stop();

    const rows = store.db.prepare('SELECT text, server FROM lines').all() as Array<{ text: string; server: string }>;
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.text, (seen.get(r.text) ?? 0) + 1);
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    const missing: string[] = [];
    for (let w = 0; w < WRITERS; w++) {
      for (let i = 0; i < PER_WRITER; i++) {
        const text = `w${w} line ${i} ${'x'.repeat(i % 50)}`;
        if (!seen.has(text)) missing.push(text);
      }
    }
    assert.equal(duplicates, 0, 'duplicated lines');
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} missing lines`);
    assert.equal(rows.length, WRITERS * PER_WRITER);
    // Lines of each file keep their order.
    const w0 = rows.filter((r) => r.server === sources[0]!.tags.server).map((r) => Number(r.text.split(' ')[2]));
    assert.ok(w0.every((n, i) => i === 0 || n > w0[i - 1]!), 'w0 lines in order across the rotation');
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    counter?.close();
    t.cleanup();
  }
});
