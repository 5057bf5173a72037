// Child process for the kill -9 tests: migrates or replicates store "orders" of a test project.
import fs from 'node:fs';
import path from 'node:path';
import { parseSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { connectStore, locateStore } from './bindings.js';
import { changelogOf } from './changelog.js';
import { migrateStore } from './migrate.js';
import { createReplica } from './replica.js';
import { findSnapshot } from './tags.js';

const [op, dir, argsJson] = process.argv.slice(2) as [string, string, string];
const args = JSON.parse(argsJson) as Record<string, string>;
const file = path.join(dir, 'kiln.yaml');
const spec = parseSpec(fs.readFileSync(file, 'utf8'), file);
const store = openStore(dir);
const loc = locateStore(spec, store.kilnDir, args['env'] as string, 'orders');
if (op === 'migrate') {
  const conn = await connectStore(loc);
  await migrateStore(conn, changelogOf(spec, 'orders'), 'orders');
  await conn.close();
} else {
  const snap = findSnapshot(store.db, 'orders', { tag: args['tag'] as string });
  await createReplica(store, loc, changelogOf(spec, 'orders'), snap, {});
}
store.db.close();
