// Test child: writes <count> numbered lines to a log file the way a server does (several lines
// per write, writes that end mid-line), optionally rotating it by rename at line <rotateAt>
// (rename, then reopen the path: what a logger does on SIGHUP after logrotate). Before rotating
// it waits for <file>.rotate-now to exist and afterwards creates <file>.rotated, so a test can
// choose the moment (e.g. while no tailer runs).
// Usage: node testkit-write.js <file> <prefix> <count> [rotateAt]
import { closeSync, existsSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [file, prefix, countArg, rotateArg] = process.argv.slice(2);
if (!file || !prefix || !countArg) throw new Error('usage: testkit-write.js <file> <prefix> <count> [rotateAt]');
const count = Number(countArg);
const rotateAt = rotateArg ? Number(rotateArg) : -1;
const PER_WRITE = 250;

let fd = openSync(file, 'a');
for (let i = 0; i < count; i += PER_WRITE) {
  const end = Math.min(count, i + PER_WRITE);
  if (rotateAt >= i && rotateAt < end) {
    const before = Buffer.from(lines(i, rotateAt));
    writeSync(fd, before);
    while (!existsSync(`${file}.rotate-now`)) await sleep(5);
    renameSync(file, `${file}.1`);
    // The old descriptor keeps writing a little after the rename, as real loggers do.
    writeSync(fd, lines(rotateAt, rotateAt + 10));
    closeSync(fd);
    fd = openSync(file, 'a');
    writeSync(fd, lines(rotateAt + 10, end));
    writeFileSync(`${file}.rotated`, '');
  } else {
    const data = Buffer.from(lines(i, end));
    // Two writes split inside a line: the tailer must keep the partial line.
    const cut = Math.floor(data.length / 2) + 3;
    writeSync(fd, data.subarray(0, cut));
    writeSync(fd, data.subarray(cut));
  }
  await sleep(4);
}
closeSync(fd);

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} line ${i} ${'x'.repeat(i % 50)}\n`;
  return s;
}
