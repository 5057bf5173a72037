// Log ingestion benchmark: lines/s from server log files into the central store (.kiln/logs.db),
// against the bound: the same files read and split the same way, with every line appended (with
// its tags) to one plain file instead of the database — what the store would cost if it were
// free. Both sinks commit in batches of the same size. Variants are interleaved run by run so
// drift on a shared machine hits both alike; medians are printed.
// Target (issue 5): >= 100,000 lines/s, and within 3x of the bound.
//
// Usage: npm run build && node bench/logs.js [--runs 5] [--lines 400000] [--files 4] [--json]
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogStore } from '../dist/src/logs/store.js';
import { LogTailer } from '../dist/src/logs/tailer.js';
import { LineSplitter } from '../dist/src/logs/lines.js';
import { median, option } from './lib.js';

const opts = {
  runs: Number(option('runs', '5')),
  lines: Number(option('lines', '400000')),
  files: Number(option('files', '4')),
  batch: 5000,
  json: process.argv.includes('--json') || process.env.BENCH_JSON === '1',
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-logs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// Server-like lines of 60-160 bytes: a timestamp, a level, a request.
const sources = [];
for (let f = 0; f < opts.files; f++) {
  const server = `web-http-bench-v001-${f + 1}`;
  const file = path.join(dir, `${server}.log`);
  const parts = [];
  for (let i = f; i < opts.lines; i += opts.files) {
    parts.push(`2026-11-26T10:00:00.${String(i % 1000).padStart(3, '0')}Z INFO GET /api/items/${i} status=200 dur=${i % 97}ms ${'x'.repeat(i % 100)}\n`);
  }
  writeFileSync(file, parts.join(''));
  sources.push({
    path: file,
    tags: { project: 'bench', env: 'bench', service: 'web', role: 'http', cluster: 'web-http-bench', group: 'web-http-bench-v001', server, stream: 'log' },
  });
}

async function runStore(i) {
  const db = path.join(dir, `logs-${i}.db`);
  const store = LogStore.open(db);
  const tailer = new LogTailer(store, { watch: false, batchLines: opts.batch });
  tailer.setSources(sources);
  const t0 = process.hrtime.bigint();
  const n = await tailer.pollOnce();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await tailer.stop();
  store.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  if (n !== opts.lines) throw new Error(`store run read ${n} lines, expected ${opts.lines}`);
  return n / s;
}

/** The bound: same reads and splitting, each tagged line appended to one file per batch. */
function runBound(i) {
  const out = path.join(dir, `bound-${i}.log`);
  const fd = openSync(out, 'a');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  let pending = [];
  const flush = () => {
    if (pending.length) writeSync(fd, pending.join(''));
    pending = [];
  };
  const t0 = process.hrtime.bigint();
  for (const src of sources) {
    const t = src.tags;
    const prefix = `${t.env} ${t.cluster} ${t.group} ${t.server} ${t.stream} `;
    const rfd = openSync(src.path, 'r');
    const splitter = new LineSplitter();
    let pos = 0;
    const lines = [];
    for (;;) {
      const r = readSync(rfd, buf, 0, buf.length, pos);
      if (r === 0) break;
      pos += r;
      splitter.push(buf.subarray(0, r), lines);
      const ts = Date.now();
      for (const text of lines) {
        pending.push(`${ts} ${prefix}${text}\n`);
        n++;
        if (pending.length >= opts.batch) flush();
      }
      lines.length = 0;
    }
    closeSync(rfd);
  }
  flush();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  closeSync(fd);
  rmSync(out);
  if (n !== opts.lines) throw new Error(`bound run read ${n} lines, expected ${opts.lines}`);
  return n / s;
}

const store = [];
const bound = [];
for (let i = 0; i < opts.runs; i++) {
  store.push(await runStore(i));
  bound.push(runBound(i));
}
const result = {
  lines: opts.lines,
  files: opts.files,
  runs: opts.runs,
  storeLinesPerSec: Math.round(median(store)),
  boundLinesPerSec: Math.round(median(bound)),
  ratio: Number((median(bound) / median(store)).toFixed(2)),
  storeRuns: store.map(Math.round),
  boundRuns: bound.map(Math.round),
};
result.meetsTarget = result.storeLinesPerSec >= 100_000 && result.ratio <= 3;
if (opts.json) console.log(JSON.stringify(result));
else {
  console.log(`log ingestion, ${opts.lines} lines in ${opts.files} files, median of ${opts.runs} runs`);
  console.log(`  store (logs.db)       ${result.storeLinesPerSec.toLocaleString('en')} lines/s`);
  console.log(`  bound (append a file) ${result.boundLinesPerSec.toLocaleString('en')} lines/s`);
  console.log(`  bound / store         ${result.ratio}x  (target >= 100,000 lines/s and <= 3x: ${result.meetsTarget ? 'met' : 'NOT met'})`);
}
