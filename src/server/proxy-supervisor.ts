// Keeps the data plane (`kiln proxy`) running as its own process and feeds it route tables.
// The proxy is started detached, so it outlives the control plane; a restarted control plane
// adopts the running proxy from its pid file instead of starting a second one.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataPlane } from '../proxy/data-plane.js';
import type { RouteTable, ProxyStats } from '../proxy/routes.js';
import { isProcessAlive, processStartTime } from '../runtime/process/proc.js';
import { dataPlaneAlive, readDataPlanePid, type DataPlanePidFile } from '../runtime/process/pid-file.js';
import { writeFileAtomic } from '../store/atomic.js';
import { unixRequest } from '../util/unix-http.js';
import type { RunPaths } from './paths.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const KILN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/kiln.js');

export class ProxySupervisor implements DataPlane {
  readonly name = 'kiln proxy';
  readonly troubleshoot = 'see .kiln/logs/proxy.log for why the proxy is down';
  private pushing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly paths: RunPaths,
    private readonly listen: { host: string; port: number; tunnelIdleTimeoutMs?: number },
    private readonly log: (msg: string) => void,
    /** kiln.yaml `metrics`: the proxy serves /metrics on host:proxyPort; absent: not at all. */
    private readonly metrics?: { host: string; proxyPort: number; allowPublic: boolean },
  ) {}

  private readPid(): DataPlanePidFile | null {
    return readDataPlanePid(this.paths.proxyPid);
  }

  isRunning(): boolean {
    return dataPlaneAlive(this.readPid());
  }

  private async answers(): Promise<boolean> {
    try {
      return (await unixRequest(this.paths.proxyAdmin, 'GET', '/healthz', { timeoutMs: 1000 })).status === 200;
    } catch {
      return false;
    }
  }

  private ensuring: Promise<'adopted' | 'started'> | null = null;

  /**
   * Adopts the running proxy, or starts one (it restores its routes from its own file). One at a
   * time: the reconciler and a deploy whose switch found the proxy dead may both ask.
   */
  ensure(): Promise<'adopted' | 'started'> {
    if (!this.ensuring) this.ensuring = this.ensureNow().finally(() => (this.ensuring = null));
    return this.ensuring;
  }

  private async ensureNow(): Promise<'adopted' | 'started'> {
    const metrics = this.metrics ? `${this.metrics.host}:${this.metrics.proxyPort}` : null;
    // The pid file's `listen` names the metrics address too, so a changed one is reported like a changed port.
    const want = `${this.listen.host}:${this.listen.port}` + (metrics ? ` metrics ${metrics}` : '');
    const current = this.readPid();
    if (current && isProcessAlive(current.pid, current.startTime) && (await this.answers())) {
      if (current.listen !== want) {
        this.log(`proxy listens on ${current.listen}, kiln.yaml says ${want}: restart it to change (kill ${current.pid})`);
      }
      return 'adopted';
    }
    mkdirSync(path.dirname(this.paths.proxyLog), { recursive: true });
    const out = openSync(this.paths.proxyLog, 'a');
    try {
      const child = spawn(
        process.execPath,
        [
          KILN_BIN, 'proxy', '--listen', `${this.listen.host}:${this.listen.port}`, '--admin', this.paths.proxyAdmin, '--routes', this.paths.proxyRoutes,
          ...(this.listen.tunnelIdleTimeoutMs !== undefined ? ['--tunnel-idle-timeout', `${this.listen.tunnelIdleTimeoutMs}ms`] : []),
          ...(metrics ? ['--metrics', metrics] : []),
          ...(metrics && this.metrics?.allowPublic ? ['--metrics-allow-public'] : []),
        ],
        { detached: true, stdio: ['ignore', out, out], cwd: this.paths.kilnDir },
      );
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => resolve(child.pid as number));
      });
      child.unref();
      child.on('exit', () => undefined);
      const startTime = processStartTime(pid) ?? '';
      writeFileAtomic(this.paths.proxyPid, JSON.stringify({ pid, startTime, listen: want }), 0o600);
      for (let i = 0; i < 200; i++) {
        if (existsSync(this.paths.proxyAdmin) && (await this.answers())) return 'started';
        if (!isProcessAlive(pid, startTime)) break;
        await sleep(25);
      }
      const tail = readFileSync(this.paths.proxyLog, 'utf8').split('\n').slice(-10).join('\n');
      throw new Error(`kiln proxy did not start on ${want}:\n${tail}`);
    } finally {
      closeSync(out);
    }
  }

  /** Stops the proxy process (SIGTERM: it finishes in-flight requests first). */
  async stop(): Promise<void> {
    const p = this.readPid();
    if (!p || !isProcessAlive(p.pid, p.startTime)) return;
    process.kill(p.pid, 'SIGTERM');
    for (let i = 0; i < 250 && isProcessAlive(p.pid, p.startTime); i++) await sleep(20);
    if (isProcessAlive(p.pid, p.startTime)) process.kill(p.pid, 'SIGKILL');
  }

  /** Sends a whole route table; calls are serialised so tables arrive in version order. */
  push(table: RouteTable): Promise<void> {
    const run = async (): Promise<void> => {
      const r = await unixRequest(this.paths.proxyAdmin, 'PUT', '/routes', { body: table });
      if (r.status === 409) return; // the proxy already has a newer table
      if (r.status !== 200) throw new Error(`proxy refused route table v${table.version}: ${r.status} ${r.body}`);
    };
    const p = this.pushing.then(run, run);
    this.pushing = p.catch(() => undefined);
    return p;
  }

  /** The proxy's counters; null when it is down, refuses, or takes longer than `timeoutMs`. */
  async stats(timeoutMs = 2000): Promise<ProxyStats | null> {
    try {
      const r = await unixRequest(this.paths.proxyAdmin, 'GET', '/stats', { timeoutMs });
      return r.status === 200 ? (JSON.parse(r.body) as ProxyStats) : null;
    } catch {
      return null;
    }
  }

  /** The route table the proxy applies now; null when it is down or does not answer in time. */
  async routes(timeoutMs = 2000): Promise<RouteTable | null> {
    try {
      const r = await unixRequest(this.paths.proxyAdmin, 'GET', '/routes', { timeoutMs });
      return r.status === 200 ? (JSON.parse(r.body) as RouteTable) : null;
    } catch {
      return null;
    }
  }

  /** The proxy's current route version, to continue numbering after a control-plane restart. */
  async currentVersion(): Promise<number> {
    try {
      const r = await unixRequest(this.paths.proxyAdmin, 'GET', '/routes', { timeoutMs: 2000 });
      return r.status === 200 ? ((JSON.parse(r.body) as RouteTable).version ?? 0) : 0;
    } catch {
      return 0;
    }
  }
}
