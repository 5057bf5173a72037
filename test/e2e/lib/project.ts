// A throw-away copy of examples/shop for one end-to-end test: its own directory, its own
// proxy port, a `kiln` to run in it, the control plane in the background, and a cleanup that
// leaves no process and no file behind.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { waitFor } from './wait.js';
import { killProjectProcesses } from './processes.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KilnRunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Added to (undefined: removed from) the test's environment. */
  env?: Record<string, string | undefined>;
  /** Resolve with a non-zero exit code instead of throwing. */
  allowFail?: boolean;
  /** Kill the command and throw after this long (default 120000 ms). */
  timeoutMs?: number;
}

export interface ServerProc {
  pid: number;
  kill(signal?: NodeJS.Signals): void;
  /** Settles when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it printed so far (stdout and stderr, interleaved as received; the last 1 MB). */
  output(): string;
}

export interface TestProject {
  /** The project directory (real path; holds kiln.yaml). */
  dir: string;
  /** The public port of `kiln proxy`, free when the project was made. */
  proxyPort: number;
  /** Kiln's DNS port (UDP and TCP) for this project. */
  dnsPort: number;
  /** The repository root, holding bin/kiln.js. */
  repoRoot: string;
  /** Runs `node <repo>/bin/kiln.js ...args` in `dir`; throws with the full output on failure unless allowFail. */
  kiln(args: string[], opts?: KilnRunOptions): Promise<RunResult>;
  /** Starts `kiln server` (with `args`, e.g. --listen) in the background; resolves once its unix socket answers. */
  startServer(opts?: { env?: Record<string, string | undefined>; timeoutMs?: number; args?: string[] }): Promise<ServerProc>;
  /** Sets the "version" in apps/<app>/package.json: the next tag of it answers with it. */
  bumpVersion(app: string, version: string): Promise<void>;
  /** Marks apps/<app> as a bad build ("unhealthy": true in package.json: /healthz answers 503). */
  setUnhealthy(app: string, unhealthy?: boolean): Promise<void>;
  /** Ends every process of the project (started here or by Kiln) and removes `dir`. */
  cleanup(): Promise<void>;
}

export interface MakeProjectOptions {
  /** Example under examples/ to copy (default "shop"). */
  example?: string;
  /** Script run by kiln() and startServer() (default <repo>/bin/kiln.js; a stand-in tests the helpers). */
  kilnBin?: string;
}

/** The repository root: the nearest ancestor of this file with bin/kiln.js (from dist/test/e2e/lib/ or test/e2e/lib/). */
export function findRepoRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'bin', 'kiln.js')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no bin/kiln.js above ${from}`);
  }
}

/** A loopback port nothing listens on right now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Copied from the example: everything but state and build output a local run may have left. */
const SKIP = new Set(['.kiln', 'node_modules', 'build-info.json']);

export async function makeProject(opts: MakeProjectOptions = {}): Promise<TestProject> {
  const repoRoot = findRepoRoot();
  const source = path.join(repoRoot, 'examples', opts.example ?? 'shop');
  // Real path: /proc reports real paths, and the cleanup matches processes by this directory.
  const dir = fs.realpathSync(await fsp.mkdtemp(path.join(os.tmpdir(), 'kiln-e2e-')));
  // mkdtemp makes it 0700; servers run as their own users (docs/isolation.md) and must pass
  // through it to reach .kiln, as through any project directory (others may not list it).
  await fsp.chmod(dir, 0o711);
  const servers: Array<{ child: ChildProcess; exited: ServerProc['exited'] }> = [];
  let cleaned = false;

  await fsp.cp(source, dir, { recursive: true, filter: (src) => !SKIP.has(path.basename(src)) });
  // The shop's api locks better-sqlite3: give its `npm ci` Kiln's own build of it as a local
  // prebuilt binary, so no test compiles it (scripts/sqlite-prebuild.js says why).
  const apiDir = path.join(dir, 'apps', 'api');
  if (fs.existsSync(path.join(apiDir, 'package-lock.json'))) {
    const placed = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'sqlite-prebuild.js'), apiDir], { encoding: 'utf8' });
    if (placed.status !== 0) throw new Error(`scripts/sqlite-prebuild.js: ${placed.stderr || placed.stdout}`);
  }
  const proxyPort = await freePort();
  const specFile = path.join(dir, 'kiln.yaml');
  const doc = parseDocument(await fsp.readFile(specFile, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${specFile}: ${doc.errors[0]!.message}`);
  doc.setIn(['proxy', 'port'], proxyPort);
  // Its own DNS port too, so projects (and a developer's running demo) never collide.
  const dnsPort = await freePort();
  doc.setIn(['dns', 'port'], dnsPort);
  // No folding: the copy keeps the example's one-line entries, which tests edit by line.
  await fsp.writeFile(specFile, doc.toString({ lineWidth: 0 }));

  const env = (extra?: Record<string, string | undefined>): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(extra ?? {})) {
      if (v === undefined) delete e[k];
      else e[k] = v;
    }
    return e;
  };
  const kilnBin = opts.kilnBin ?? path.join(repoRoot, 'bin', 'kiln.js');

  const kiln = (args: string[], o: KilnRunOptions = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [kilnBin, ...args], { cwd: dir, env: env(o.env), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timeoutMs = o.timeoutMs ?? 120000;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      let settled = false;
      child.on('error', (err) => {
        settled = true;
        clearTimeout(timer);
        reject(err);
      });
      const finish = (code: number | null, sig: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const result = { code: code ?? 128, stdout, stderr };
        const shown = `$ kiln ${args.join(' ')}\n--- stdout\n${stdout}--- stderr\n${stderr}`;
        if (timedOut) return reject(new Error(`kiln ${args.join(' ')} did not finish within ${timeoutMs} ms\n${shown}`));
        if (result.code !== 0 && !o.allowFail) {
          return reject(new Error(`kiln ${args.join(' ')} exited with ${code ?? sig}\n${shown}`));
        }
        resolve(result);
      };
      // Normally 'close' (all output read) follows 'exit' at once. If a process the command
      // started in the background still holds its stdout, stop waiting for it after a moment.
      child.on('close', finish);
      child.on('exit', (code, sig) => {
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, sig);
        }, 500);
      });
      child.stdin.on('error', () => {}); // the command may exit without reading its input
      child.stdin.end(o.input ?? '');
    });

  const startServer = async (o: { env?: Record<string, string | undefined>; timeoutMs?: number; args?: string[] } = {}): Promise<ServerProc> => {
    const child = spawn(process.execPath, [kilnBin, 'server', ...(o.args ?? [])], { cwd: dir, env: env(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: string): void => {
      out += d;
      if (out.length > 1 << 20) out = out.slice(-(1 << 20));
    };
    child.stdout!.setEncoding('utf8').on('data', keep);
    child.stderr!.setEncoding('utf8').on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      // 'exit', not 'close': processes the server starts may hold its output pipes open.
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: null, signal: null }));
    });
    servers.push({ child, exited });
    let gone = false;
    void exited.then(() => (gone = true));
    const sock = path.join(dir, '.kiln', 'run', 'kiln.sock');
    try {
      await waitFor(
        async () => {
          if (gone) throw new Error('exited');
          return fs.existsSync(sock) && (await answers(sock));
        },
        { timeoutMs: o.timeoutMs ?? 30000, what: `kiln server to answer on ${sock}` },
      );
    } catch (err) {
      const why = gone ? `kiln server exited (${JSON.stringify(await exited)}) before answering` : (err as Error).message;
      throw new Error(`${why}\n--- output\n${out}`);
    }
    return {
      pid: child.pid!,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => {
        if (!gone) child.kill(signal);
      },
      exited,
      output: () => out,
    };
  };

  const editPackage = async (app: string, edit: (pkg: Record<string, unknown>) => void): Promise<void> => {
    const file = path.join(dir, 'apps', app, 'package.json');
    const pkg = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    edit(pkg);
    await fsp.writeFile(file, JSON.stringify(pkg, null, 2) + '\n');
  };

  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    // The control plane first, so it cannot replace the servers ended below.
    for (const s of servers) {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      await s.exited;
      s.child.stdout?.destroy();
      s.child.stderr?.destroy();
    }
    await killProjectProcesses(dir);
    await fsp.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };

  return {
    dir,
    proxyPort,
    dnsPort,
    repoRoot,
    kiln,
    startServer,
    bumpVersion: (app, version) => editPackage(app, (pkg) => (pkg['version'] = version)),
    setUnhealthy: (app, unhealthy = true) =>
      editPackage(app, (pkg) => {
        if (unhealthy) pkg['unhealthy'] = true;
        else delete pkg['unhealthy'];
      }),
    cleanup,
  };
}

/** Whether an HTTP server answers on the unix socket (any status: 401 without a token is fine). */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: '/', method: 'GET', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The example as most tests start: `kiln init`, api and web tagged 1.0.0, release r1. */
export async function makeReleasedProject(opts: MakeProjectOptions = {}): Promise<TestProject> {
  const p = await makeProject(opts);
  await p.kiln(['init']);
  await p.kiln(['app', 'tag', 'api', '1.0.0']);
  await p.kiln(['app', 'tag', 'web', '1.0.0']);
  await p.kiln(['release', 'create']);
  return p;
}
