// A data plane's pid file names a live process only while that very process runs: a missing or
// garbled file is "nothing running", a pid reused by another process (other start time) is too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataPlaneAlive, readDataPlanePid } from './pid-file.js';
import { processStartTime } from './proc.js';

test('a data plane pid file: missing or garbled is none; alive only with the start time its process had', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-pid-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'proxy.json');
  assert.equal(readDataPlanePid(file), null);
  assert.equal(dataPlaneAlive(readDataPlanePid(file)), false);
  writeFileSync(file, '{"pid": 12');
  assert.equal(readDataPlanePid(file), null);
  const me = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', listen: '127.0.0.1:8080' };
  writeFileSync(file, JSON.stringify(me));
  assert.deepEqual(readDataPlanePid(file), me);
  assert.equal(dataPlaneAlive(readDataPlanePid(file)), true);
  writeFileSync(file, JSON.stringify({ ...me, startTime: '1' }));
  assert.equal(dataPlaneAlive(readDataPlanePid(file)), false, 'a reused pid is not the process that wrote the file');
});
