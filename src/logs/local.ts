// `kiln logs` with no control plane running: the lines collected until it stopped, read straight
// from .kiln/logs.db (a read like `git log`: nothing is started, nothing is tailed), checked
// against the same subjects the API knows (state.db, kiln.yaml).
import fs from 'node:fs';
import type { ProjectSpec } from '../spec/types.js';
import { openStore } from '../store/init.js';
import { RuntimeState } from '../store/runtime-state.js';
import { checkedFilter, readLogs, type LogsResponse } from './api.js';
import { LogStore, logStorePath } from './store.js';
import { subjectsInState } from './subjects.js';

export function readLocalLogs(spec: ProjectSpec, q: URLSearchParams): LogsResponse {
  const store = openStore(spec.dir);
  try {
    const known = () => subjectsInState(new RuntimeState(store.db), Object.keys(spec.environments));
    const file = logStorePath(store.kilnDir);
    // No store yet (nothing ever ran): no lines, but a name nothing knows is still an error.
    if (!fs.existsSync(file)) {
      const empty = LogStore.open(':memory:');
      try {
        checkedFilter(empty, q, known);
      } finally {
        empty.close();
      }
      return { lines: [] };
    }
    const logs = LogStore.open(file);
    try {
      return readLogs(logs, q, known);
    } finally {
      logs.close();
    }
  } finally {
    store.db.close();
  }
}
