// Test child: a LogTailer in its own process, so a test can SIGKILL it mid-batch like a crashed
// control plane. Usage: node testkit-tail.js <logs.db> <sources.json>
import { readFileSync } from 'node:fs';
import { LogStore } from './store.js';
import { LogTailer } from './tailer.js';
import type { LogSource } from './types.js';

const [dbFile, sourcesFile] = process.argv.slice(2);
if (!dbFile || !sourcesFile) throw new Error('usage: testkit-tail.js <logs.db> <sources.json>');
const store = LogStore.open(dbFile);
// Small batches: many commits, so a kill lands between and inside them.
const tailer = new LogTailer(store, { pollMs: 5, batchLines: 700, rotationGraceMs: 200 });
tailer.setSources(JSON.parse(readFileSync(sourcesFile, 'utf8')) as LogSource[]);
tailer.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void tailer.stop().then(() => {
    store.close();
    process.exit(0);
  });
});
setInterval(() => {}, 1 << 30);
