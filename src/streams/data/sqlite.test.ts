import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runScenario } from './scenario.js';
import { makeDataProject } from './testkit.js';

test('SQLite store: migrate, snapshot, replicas, tamper, failure, kill -9', async (t) => {
  const p = makeDataProject('  dev: {}\n  test: {}\n  test2: {}');
  try {
    await runScenario(t, p, {
      source: 'dev',
      replicas: ['test', 'test2'],
      async replicaExists(loc) {
        return loc.engine === 'sqlite' && fs.existsSync(loc.file);
      },
      async temporaries(loc) {
        if (loc.engine !== 'sqlite') return [];
        const base = `.${path.basename(loc.file)}.tmp-`;
        return fs.readdirSync(path.dirname(loc.file)).filter((n) => n.startsWith(base) && !/-(wal|shm|journal)$/.test(n));
      },
    });
  } finally {
    p.cleanup();
  }
});
