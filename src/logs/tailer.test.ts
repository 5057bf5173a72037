import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CONTINUED } from './lines.js';
import { LogTailer } from './tailer.js';
import { source, texts, withLogs } from './testkit.js';

const quiet = { watch: false, rotationGraceMs: 0 };

test('a partial last line waits for its newline; CRLF and blank lines are kept as lines', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const src = source(t.dir, 'web-http-dev-v001-1');
    tailer.setSources([src]);
    assert.equal(await tailer.pollOnce(), 0, 'no file yet is not an error');
    writeFileSync(src.path, 'one\r\n\nhalf');
    assert.equal(await tailer.pollOnce(), 2);
    appendFileSync(src.path, ' and the rest\nthree\n');
    await tailer.pollOnce();
    assert.deepEqual(texts(store), ['one', '', 'half and the rest', 'three']);
    const line = store.readAfter(0, 1)[0]!;
    assert.equal(line.server, 'web-http-dev-v001-1');
    assert.equal(line.group, 'web-http-dev-v001');
    assert.equal(line.stream, 'log');
    await tailer.stop();
  }));

test('rotation by rename: the old file is finished through its open descriptor, the new one read from 0', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const src = source(t.dir, 's1');
    tailer.setSources([src]);
    const fd = openSync(src.path, 'a');
    writeSync(fd, 'a1\na2\n');
    await tailer.pollOnce();
    renameSync(src.path, `${src.path}.1`);
    // The writer has not reopened yet: it still appends to the renamed file.
    writeSync(fd, 'a3\na4-no-newline');
    closeSync(fd);
    writeFileSync(src.path, 'b1\nb2\n');
    await tailer.pollOnce();
    await tailer.pollOnce();
    assert.deepEqual(texts(store), ['a1', 'a2', 'a3', 'a4-no-newline', 'b1', 'b2']);
    // The finished file is remembered (by inode, as read to its end), so it is never read again.
    assert.deepEqual(store.offsets().map((o) => o.done).sort(), [false, true]);
    await tailer.stop();
  }));

test('rotation by truncation: a shorter file is read again from its beginning', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const src = source(t.dir, 's1', 'stdout');
    tailer.setSources([src]);
    writeFileSync(src.path, 'old line one\nold line two\n');
    await tailer.pollOnce();
    truncateSync(src.path, 0);
    appendFileSync(src.path, 'new\n');
    await tailer.pollOnce();
    assert.deepEqual(texts(store), ['old line one', 'old line two', 'new']);
    await tailer.stop();
  }));

test('a 10 MB line is stored in bounded pieces that join back to the line', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const src = source(t.dir, 's1');
    tailer.setSources([src]);
    // Multi-byte characters, so pieces must be cut between characters.
    const huge = 'é€'.repeat((10 * 1024 * 1024) / 5);
    writeFileSync(src.path, `before\n${huge}\nafter\n`);
    await tailer.pollOnce();
    const all = texts(store);
    assert.equal(all[0], 'before');
    assert.equal(all.at(-1), 'after');
    const pieces = all.slice(1, -1);
    assert.ok(pieces.length >= 40, `${pieces.length} pieces`);
    for (const p of pieces.slice(0, -1)) assert.ok(p.endsWith(CONTINUED));
    assert.ok(!pieces.at(-1)!.endsWith(CONTINUED));
    assert.equal(pieces.map((p) => (p.endsWith(CONTINUED) ? p.slice(0, -CONTINUED.length) : p)).join(''), huge);
    assert.ok(!pieces.some((p) => p.includes('\uFFFD')), 'no character was cut in half');
    await tailer.stop();
  }));

test('binary garbage is stored with replacement characters and the lines after it still arrive', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const src = source(t.dir, 's1', 'stderr');
    tailer.setSources([src]);
    const garbage = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3]), randomBytes(64 * 1024), Buffer.from('\n')]);
    writeFileSync(src.path, garbage);
    appendFileSync(src.path, 'fine again\n');
    await tailer.pollOnce();
    const all = texts(store);
    assert.equal(all.at(-1), 'fine again');
    assert.ok(all[0]!.startsWith('\uFFFD'));
    assert.ok(!all.some((l) => l.includes('\0')));
    await tailer.stop();
  }));

test('a file that disappears is not fatal; one that appears later is read', () =>
  withLogs(async (t) => {
    const store = t.open();
    const warnings: string[] = [];
    const tailer = new LogTailer(store, { ...quiet, onWarning: (m) => warnings.push(m) });
    const src = source(path.join(t.dir, 'later'), 's1');
    tailer.setSources([src]);
    await tailer.pollOnce();
    mkdirSync(path.dirname(src.path));
    writeFileSync(src.path, 'x1\n');
    await tailer.pollOnce();
    rmSync(src.path);
    await tailer.pollOnce();
    writeFileSync(src.path, 'y1\n');
    await tailer.pollOnce();
    assert.deepEqual(texts(store), ['x1', 'y1']);
    await tailer.stop();
  }));

test('a removed source is read to its end, last line included, then let go', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, quiet);
    const a = source(t.dir, 'a');
    const b = source(t.dir, 'b');
    tailer.setSources([a, b]);
    writeFileSync(a.path, 'a1\n');
    writeFileSync(b.path, 'b1\n');
    await tailer.pollOnce();
    appendFileSync(b.path, 'b2\nb-last-without-newline');
    tailer.setSources([a]);
    await tailer.pollOnce();
    appendFileSync(b.path, '\nb-after-removal\n');
    await tailer.pollOnce();
    assert.deepEqual(texts(store, 'b'), ['b1', 'b2', 'b-last-without-newline']);
    assert.ok(store.offsets().find((o) => o.path === b.path)?.done);
    await tailer.stop();
  }));

test('a new tailer resumes at the saved offsets and finishes a file rotated while none ran', () =>
  withLogs(async (t) => {
    const src = source(t.dir, 's1');
    const first = new LogTailer(t.open(), quiet);
    first.setSources([src]);
    writeFileSync(src.path, 'l1\nl2\npart');
    await first.pollOnce();
    await first.stop();
    // While no tailer runs: the line is finished, then the file is rotated and a new one started.
    appendFileSync(src.path, 'ial\nl3\n');
    renameSync(src.path, `${src.path}.1`);
    writeFileSync(src.path, 'n1\n');
    const store = t.open();
    const second = new LogTailer(store, quiet);
    second.setSources([src]);
    await second.pollOnce();
    await second.pollOnce();
    assert.deepEqual(texts(store), ['l1', 'l2', 'partial', 'l3', 'n1']);
    await second.stop();
  }));

test('a source nobody lists after a restart is still read to its end', () =>
  withLogs(async (t) => {
    const src = source(t.dir, 'gone');
    const first = new LogTailer(t.open(), quiet);
    first.setSources([src]);
    writeFileSync(src.path, 'g1\n');
    await first.pollOnce();
    await first.stop();
    appendFileSync(src.path, 'g2 written while the control plane was down\n');
    const store = t.open();
    const second = new LogTailer(store, quiet);
    second.setSources([]);
    await second.pollOnce();
    assert.deepEqual(texts(store), ['g1', 'g2 written while the control plane was down']);
    await second.stop();
  }));

test('start() follows files on its own', () =>
  withLogs(async (t) => {
    const store = t.open();
    const tailer = new LogTailer(store, { pollMs: 20 });
    const src = source(t.dir, 's1');
    tailer.setSources([src]);
    tailer.start();
    writeFileSync(src.path, 'hello\n');
    await new Promise<void>((resolve) => store.events.once('append', () => resolve()));
    assert.deepEqual(texts(store), ['hello']);
    await tailer.stop();
  }));
