// Regression tests for issue 11, defects 2, 3, 4 and 6: what a hostile or busy app can do to the
// files the tailer reads (a link, a FIFO, a flood during deploys, rotations while nobody reads).
// The options are passed through a variable so the same file also compiles against an older tailer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LogTailer, type LogTailerOptions } from './tailer.js';
import { source, tags, texts, withLogs } from './testkit.js';

const quiet: LogTailerOptions = { watch: false, rotationGraceMs: 0 };
const here = path.dirname(fileURLToPath(import.meta.url));

test('defect 2: a log file replaced by a symlink is not followed; a kiln line says why', () =>
  withLogs(async (t) => {
    const secret = path.join(t.dir, 'token');
    writeFileSync(secret, 'SECRET-TOKEN-VALUE\n');
    const dir = path.join(t.dir, 'logs', 'dev', 'web-http-dev');
    mkdirSync(dir, { recursive: true });
    const store = t.open();
    const opts = { ...quiet, root: path.join(t.dir, 'logs') };
    const tailer = new LogTailer(store, opts);
    const src = source(dir, 's1');
    tailer.setSources([src]);
    writeFileSync(src.path, 'before\n');
    await tailer.pollOnce();
    // The app swaps its log for a link to a file only the control plane may read.
    rmSync(src.path);
    symlinkSync(secret, src.path);
    await tailer.pollOnce();
    await tailer.pollOnce();
    const all = texts(store);
    assert.ok(!all.some((l) => l.includes('SECRET-TOKEN-VALUE')), `the link's target reached the store: ${JSON.stringify(all)}`);
    assert.ok(all.some((l) => /symbolic link/.test(l)), `no line says the link was refused: ${JSON.stringify(all)}`);
    // A plain file in its place is read again, even when it got the removed link's inode number.
    for (let i = 0; i < 3; i++) {
      rmSync(src.path);
      writeFileSync(src.path, `plain ${i}\n`);
      await tailer.pollOnce();
      rmSync(src.path);
      symlinkSync(secret, src.path);
      await tailer.pollOnce();
    }
    const later = texts(store);
    assert.deepEqual(later.filter((l) => l.startsWith('plain')), ['plain 0', 'plain 1', 'plain 2']);
    assert.ok(!later.some((l) => l.includes('SECRET-TOKEN-VALUE')));
    await tailer.stop();
  }));

test('defect 2: a log directory replaced by a symlink is not followed below the log root', () =>
  withLogs(async (t) => {
    const elsewhere = path.join(t.dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(path.join(elsewhere, 's1.log'), 'READ-THROUGH-A-LINKED-DIRECTORY\n');
    const root = path.join(t.dir, 'logs');
    mkdirSync(path.join(root, 'dev'), { recursive: true });
    // The server owns its directory and replaced it by a link to somewhere it wants read.
    const dir = path.join(root, 'dev', 'web-http-dev');
    symlinkSync(elsewhere, dir);
    const store = t.open();
    const opts = { ...quiet, root };
    const tailer = new LogTailer(store, opts);
    tailer.setSources([source(dir, 's1')]);
    await tailer.pollOnce();
    const all = texts(store);
    assert.ok(!all.some((l) => l.includes('READ-THROUGH')), `a file behind a linked directory was read: ${JSON.stringify(all)}`);
    await tailer.stop();
  }));

/** Runs one poll of a fresh tailer in a child process: a blocking open there cannot hang this test. */
function pollInChild(dbFile: string, sources: unknown, root: string): Promise<{ ok: boolean; out: string }> {
  const url = (f: string): string => pathToFileURL(path.join(here, f)).href;
  const script = `
    import { LogStore } from ${JSON.stringify(url('store.js'))};
    import { LogTailer } from ${JSON.stringify(url('tailer.js'))};
    const store = LogStore.open(${JSON.stringify(dbFile)});
    const tailer = new LogTailer(store, { watch: false, rotationGraceMs: 0, root: ${JSON.stringify(root)} });
    tailer.setSources(${JSON.stringify(sources)});
    await tailer.pollOnce();
    await tailer.stop();
    const rows = store.db.prepare('SELECT text FROM lines ORDER BY id').all();
    store.close();
    process.stdout.write(JSON.stringify(rows.map((r) => r.text)));
  `;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, out: err ? `${err.message} ${stderr}` : stdout });
    });
  });
}

test('defect 3: a FIFO in place of a log file does not block the tailer; it is reported and skipped, other files still read', () =>
  withLogs(async (t) => {
    const dir = path.join(t.dir, 'logs', 'dev', 'web-http-dev');
    mkdirSync(dir, { recursive: true });
    const fifo = source(dir, 's1');
    const plain = source(dir, 's2');
    const mk = await new Promise<Error | null>((resolve) => execFile('mkfifo', [fifo.path], (e) => resolve(e)));
    assert.equal(mk, null, 'mkfifo works here');
    writeFileSync(plain.path, 'still read\n');
    // A blocking open of a FIFO without a writer never returns: the child would be killed at 20 s.
    const r = await pollInChild(t.dbFile, [fifo, plain], path.join(t.dir, 'logs'));
    assert.ok(r.ok, `the tailer hung or failed on a FIFO: ${r.out}`);
    const lines = JSON.parse(r.out) as string[];
    assert.ok(lines.includes('still read'), `the other server's line is missing: ${r.out}`);
    assert.ok(lines.some((l) => /FIFO/.test(l) && l.includes('s1.log')), `no line reports the FIFO: ${r.out}`);
  }));

test('defect 4: a source read to its end is never read or closed again, even when its descriptor number is reused', () =>
  withLogs(async (t) => {
    const store = t.open();
    const opts = { ...quiet, batchLines: 500 };
    const tailer = new LogTailer(store, opts);
    const a = source(t.dir, 'a');
    const b = source(t.dir, 'b');
    writeFileSync(a.path, 'a1\n');
    writeFileSync(b.path, '');
    tailer.setSources([a, b]);
    await tailer.pollOnce();
    // A deploy: server a's group goes away while b floods its log (more than one round's budget).
    tailer.setSources([b]);
    appendFileSync(a.path, 'a2 last\n');
    const flood = Array.from({ length: 120_000 }, (_, i) => `b ${i} ${'x'.repeat(60)}`);
    writeFileSync(b.path, flood.join('\n') + '\n');
    const foreign = path.join(t.dir, 'foreign.txt');
    writeFileSync(foreign, 'FOREIGN FILE, NOT A LOG\n'.repeat(10));
    // While the poll yields between batches, someone else opens a file: it gets the lowest free
    // number, which is the one a's descriptor had if a was closed already.
    let foreignFd = -1;
    setImmediate(() => {
      foreignFd = openSync(foreign, 'r');
    });
    await tailer.pollOnce();
    await tailer.pollOnce();
    assert.notEqual(foreignFd, -1);
    assert.doesNotThrow(() => fstatSync(foreignFd), 'the tailer closed a descriptor it did not own');
    closeSync(foreignFd);
    const all = texts(store);
    assert.ok(!all.some((l) => l.startsWith('FOREIGN')), 'the tailer read a file that is not a log through a reused number');
    assert.deepEqual(texts(store, 'a'), ['a1', 'a2 last']);
    assert.equal(texts(store, 'b').length, flood.length, 'every flooded line arrives');
    assert.deepEqual(texts(store, 'b'), flood);
    await tailer.stop();
  }));

test('defect 4: a server listed again while its source is being finished is followed on, once', () =>
  withLogs(async (t) => {
    const store = t.open();
    const opts = { ...quiet, batchLines: 500 };
    const tailer = new LogTailer(store, opts);
    const a = source(t.dir, 'a');
    const b = source(t.dir, 'b');
    writeFileSync(a.path, 'a1\n');
    writeFileSync(b.path, '');
    tailer.setSources([a, b]);
    await tailer.pollOnce();
    // A deploy drops server a while b floods; before that poll is done, a is listed again.
    tailer.setSources([b]);
    const flood = Array.from({ length: 120_000 }, (_, i) => `b ${i} ${'y'.repeat(60)}`);
    writeFileSync(b.path, flood.join('\n') + '\n');
    setImmediate(() => tailer.setSources([a, b]));
    await tailer.pollOnce();
    appendFileSync(a.path, 'a2 after it was listed again\n');
    await tailer.pollOnce();
    await tailer.pollOnce();
    assert.deepEqual(texts(store, 'a'), ['a1', 'a2 after it was listed again']);
    assert.deepEqual(texts(store, 'b'), flood);
    await tailer.stop();
  }));

test('defect 6: three rotations by rename while no tailer runs: every line arrives exactly once', () =>
  withLogs(async (t) => {
    const src = source(t.dir, 's1');
    const first = new LogTailer(t.open(), quiet);
    first.setSources([src]);
    const all: string[] = [];
    const write = (n: number): void => {
      const lines = Array.from({ length: n }, (_, i) => `line ${all.length + i}`);
      all.push(...lines);
      appendFileSync(src.path, lines.join('\n') + '\n');
    };
    write(100);
    await first.pollOnce();
    write(50); // written before the outage, not read yet
    await first.stop();
    // The control plane is down: the app rotates (log -> log.1 -> log.2 -> log.3) three times.
    for (let r = 0; r < 3; r++) {
      for (let k = 3; k >= 1; k--) {
        try {
          renameSync(`${src.path}.${k}`, `${src.path}.${k + 1}`);
        } catch {
          /* not there yet */
        }
      }
      renameSync(src.path, `${src.path}.1`);
      write(200);
    }
    const store = t.open();
    const second = new LogTailer(store, quiet);
    second.setSources([src]);
    await second.pollOnce();
    await second.pollOnce();
    const got = texts(store);
    const lost = all.filter((l) => !got.includes(l)).length;
    assert.equal(lost, 0, `${lost} line(s) lost`);
    assert.deepEqual(got, all, 'each line once, in order');
    await second.stop();
  }));

test('defect 6: two rotations between two polls of a running tailer: the file rotated in between is read', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const src = source(t.dir, 's1', 'log', tags('s1'));
    tailer.setSources([src]);
    writeFileSync(src.path, 'one\n');
    await tailer.pollOnce();
    renameSync(src.path, `${src.path}.1`);
    writeFileSync(src.path, 'two\n');
    renameSync(`${src.path}.1`, `${src.path}.2`);
    renameSync(src.path, `${src.path}.1`);
    writeFileSync(src.path, 'three\n');
    await tailer.pollOnce();
    await tailer.pollOnce();
    assert.deepEqual(texts(store), ['one', 'two', 'three']);
    await tailer.stop();
  }));
