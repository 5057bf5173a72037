// Test helpers for the data layer: a temp project with a kiln.yaml, a changelog and an
// initialised .kiln/, and a child process that migrates or replicates so a test can kill -9 it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../spec/load.js';
import type { ProjectSpec } from '../../spec/types.js';
import { initKilnDir, openStore, type Store } from '../../store/init.js';

export interface DataProject {
  dir: string;
  spec: ProjectSpec;
  changelogDir: string;
  store: Store;
  /** Writes (or overwrites) a changelog entry. */
  entry(name: string, text: string): string;
  /** Writes a secret file of an environment (0600). */
  secret(env: string, name: string, value: string): void;
  reload(): void;
  cleanup(): void;
}

export const ORDERS_ENTRIES: Record<string, string> = {
  '0001_create_orders.sql': 'CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL, qty INTEGER NOT NULL);\n',
  '0002_seed.sql': "INSERT INTO orders (id, item, qty) VALUES (1, 'apple', 3), (2, 'pear', 5), (3, 'fig', 1);\n",
  '0003_total.sql': 'ALTER TABLE orders ADD COLUMN total INTEGER;\n',
  '0004_backfill_total.js': [
    'export async function migrate(db) {',
    "  for (const r of await db.query('SELECT id, qty FROM orders')) {",
    "    await db.query('UPDATE orders SET total = ? WHERE id = ?', [Number(r.qty) * 10, r.id]);",
    '  }',
    '}',
    '',
  ].join('\n'),
};

export function makeDataProject(envs: string, entries: Record<string, string> = ORDERS_ENTRIES): DataProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-data-'));
  fs.mkdirSync(path.join(dir, 'apps', 'api'), { recursive: true });
  const changelogDir = path.join(dir, 'db', 'orders');
  fs.mkdirSync(changelogDir, { recursive: true });
  for (const [name, text] of Object.entries(entries)) fs.writeFileSync(path.join(changelogDir, name), text);
  const yaml = [
    'project: shop',
    'data:',
    '  orders: { changelog: db/orders }',
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles: { http: { port: http } }',
    'environments:',
    envs,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'kiln.yaml'), yaml);
  initKilnDir(dir);
  const p: DataProject = {
    dir,
    changelogDir,
    spec: parseSpec(yaml, path.join(dir, 'kiln.yaml')),
    store: openStore(dir),
    entry(name, text) {
      const f = path.join(changelogDir, name);
      fs.writeFileSync(f, text);
      return f;
    },
    secret(env, name, value) {
      const d = path.join(dir, '.kiln', 'secrets', env);
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(d, name), value, { mode: 0o600 });
    },
    reload() {
      p.spec = parseSpec(fs.readFileSync(path.join(dir, 'kiln.yaml'), 'utf8'), path.join(dir, 'kiln.yaml'));
    },
    cleanup() {
      p.store.db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return p;
}

/** A JS entry that writes `marker` and then hangs (inside its transaction) while the env var is set. */
export function hangingEntry(marker: string): string {
  return [
    "import fs from 'node:fs';",
    'export async function migrate(db) {',
    "  await db.query('INSERT INTO orders (id, item, qty) VALUES (?, ?, ?)', [100, 'half-made', 1]);",
    "  if (process.env.KILN_TEST_HANG) { fs.writeFileSync(" + JSON.stringify(marker) + ", 'x'); await new Promise((r) => setTimeout(r, 1e9)); }",
    '}',
    '',
  ].join('\n');
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testkit-child.js');

/** Starts `migrate` or `replica` of store orders in a child process (see testkit-child.ts). */
export function startChild(op: 'migrate' | 'replica', dir: string, args: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CHILD, op, dir, JSON.stringify(args)], { env: { ...process.env, KILN_TEST_HANG: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function waitForFile(file: string, child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 600; i++) {
    if (fs.existsSync(file)) return;
    if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${file}: ${stderr}`);
}

export async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
