// Test helper: a RuntimeState on a fresh state.db in a temp directory, closed and removed when
// the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStateDb } from './state-db.js';
import { RuntimeState } from './runtime-state.js';

export function tempRuntimeState(t: { after(fn: () => void): void }): RuntimeState {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-state-'));
  const db = openStateDb(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return new RuntimeState(db);
}
