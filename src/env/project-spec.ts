// kiln.yaml plus the environments created from releases (state.db), for commands that resolve
// an environment by name (data, secret). Without an initialised .kiln/ it is kiln.yaml alone.
import fs from 'node:fs';
import path from 'node:path';
import { findSpecFile, loadSpec } from '../spec/load.js';
import type { ProjectSpec } from '../spec/types.js';
import { kilnDirOf } from '../store/init.js';
import { openStateDb } from '../store/state-db.js';
import { withCreatedEnvironments } from './registry.js';

export function loadProjectSpec(cwd: string): ProjectSpec {
  const spec = loadSpec(findSpecFile(cwd));
  const kilnDir = kilnDirOf(spec.dir);
  if (!fs.existsSync(path.join(kilnDir, 'state.db'))) return spec;
  const db = openStateDb(kilnDir);
  try {
    return withCreatedEnvironments(spec, db);
  } finally {
    db.close();
  }
}
