// A private PostgreSQL cluster for the tests: Debian's postgresql package (binaries in
// /usr/lib/postgresql/<n>/bin), a data directory in a temp dir, a free port on 127.0.0.1,
// password (scram) authentication. Started once per test process, on first use; stopped when
// the process exits. initdb refuses to run as root, so as root the cluster runs as the
// `postgres` user (runuser).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/util/ports.js';

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** postgres://user:password@127.0.0.1:port/<database> */
  url(database: string): string;
  /** Creates an empty database (dropping one of that name first). */
  createDatabase(name: string): void;
  dropDatabase(name: string): void;
  /** Runs SQL as the superuser in `database` and returns psql's unaligned output. */
  psql(database: string, sql: string): string;
  binDir: string;
  stop(): void;
}

let started: TestPostgres | undefined;

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/<n>/bin: apt-get install -y postgresql');
}

/** argv run as the cluster's owner: `runuser -u postgres --` when we are root. */
export function asOwner(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
}

function run(argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const [bin, ...args] = argv;
  const r = spawnSync(bin as string, args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * `netns`: run the cluster inside that network namespace (the Kubernetes test node's, which the
 * test cluster made), listening on its loopback and on `address`, with password logins from that
 * address's /16, so pods reach it without any traffic leaving the namespace. Every command of
 * the cluster (psql too) then runs in the namespace. Given on the first call of a process only.
 */
export async function startPostgres(opts: { netns?: { path: string; address: string } } = {}): Promise<TestPostgres> {
  if (started) return started;
  const inNs = (argv: string[]): string[] => (opts.netns ? ['nsenter', `--net=${opts.netns.path}`, '--', ...argv] : argv);
  const owned = (argv: string[]): string[] => inNs(asOwner(argv));
  const binDir = postgresBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const user = 'kiln';
  const password = crypto.randomBytes(12).toString('hex');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const uid = Number(run(['id', '-u', 'postgres']).trim());
    const gid = Number(run(['id', '-g', 'postgres']).trim());
    fs.chownSync(dir, uid, gid);
    fs.chownSync(pwfile, uid, gid);
  }
  const stop = (): void => {
    const [bin, ...args] = owned([path.join(binDir, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    spawnSync(bin as string, args, { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
    started = undefined;
  };
  try {
    run(owned([path.join(binDir, 'initdb'), '-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions']));
    // Test settings: loopback only, the socket in our temp dir, no fsync (data is thrown away).
    fs.appendFileSync(
      path.join(data, 'postgresql.auto.conf'),
      [`port = ${port}`, `listen_addresses = '${['127.0.0.1', ...(opts.netns ? [opts.netns.address] : [])].join(',')}'`, `unix_socket_directories = '${dir}'`, 'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'max_connections = 50', ''].join('\n'),
    );
    if (opts.netns) {
      const net = opts.netns.address.split('.').slice(0, 2).join('.');
      fs.appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${net}.0.0/16 scram-sha-256\n`);
    }
    run(owned([path.join(binDir, 'pg_ctl'), '-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']));
  } catch (e) {
    stop();
    throw e;
  }
  process.once('exit', stop);
  const url = (db: string) => `postgres://${user}:${password}@127.0.0.1:${port}/${db}`;
  const psql = (database: string, sql: string): string =>
    run(inNs([path.join(binDir, 'psql'), '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', database, '-c', sql]), {
      ...process.env,
      PGPASSWORD: password,
    });
  started = {
    host: '127.0.0.1',
    port,
    user,
    password,
    url,
    psql,
    binDir,
    createDatabase(name) {
      psql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      psql('postgres', `CREATE DATABASE "${name}"`);
    },
    dropDatabase(name) {
      psql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    stop() {
      process.removeListener('exit', stop);
      stop();
    },
  };
  return started;
}
