// kiln.yaml `proxy: { engine: haproxy }`: HAProxy as the data plane, driven by Kiln. HAProxy runs
// in master-worker mode (-W, master socket -S) as its own detached process, so it outlives the
// control plane. A route table is saved first (as the embedded proxy does), then applied: when
// only servers and their states change (a deploy's switch, a drain, a rollback) by one batch of
// runtime-API commands, with no reload; when what the config alone holds changes (clusters,
// ports, hosts, maintenance, pause) by writing the config again, checking it with `haproxy -c`
// and a master-worker reload, which hands the listening sockets to the new worker (hitless).
// After a kill -9 the next ensure() starts HAProxy from the saved table: the routes come back.
import { spawn, execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isProcessAlive, processStartTime } from '../../runtime/process/proc.js';
import { dataPlaneAlive, readDataPlanePid, type DataPlanePidFile } from '../../runtime/process/pid-file.js';
import { writeFileAtomic } from '../../store/atomic.js';
import type { DataPlane } from '../data-plane.js';
import { EMPTY_ROUTE_TABLE, type ProxyStats, type RouteTable } from '../routes.js';
import { loadRouteTable, saveRouteTable } from '../store.js';
import { validateRouteTable } from '../validate.js';
import { switchCommands, type RunningServer } from './commands.js';
import { haproxyConfig } from './config.js';
import { statsOf } from './stats.js';
import { assignSlots, backendOf, groupOfServer, pauseEntries, previewEntries, reloadKey, serversOf, slotOf } from './layout.js';
import { isFailure, parseInfo, parseMap, parseServersState, parseStat, runtimeBatch, runtimeCommand, type StatRow } from './runtime-api.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface HaproxyEngineOptions {
  /** The HAProxy binary (kiln.yaml `proxy.haproxy`). */
  binary: string;
  /** .kiln/run (0700): HAProxy's files go to its haproxy/ directory. */
  runDir: string;
  /** .kiln/logs/haproxy.log: HAProxy's stderr (notices: servers up and down, reloads). */
  logFile: string;
  listen: { host: string; port: number; tunnelIdleTimeoutMs?: number };
  metrics?: { host: string; proxyPort: number };
  log: (msg: string) => void;
}

export class HaproxyEngine implements DataPlane {
  readonly name = 'HAProxy';
  readonly troubleshoot: string;
  private readonly dir: string;
  private readonly files: { cfg: string; admin: string; master: string; routes: string; pid: string; pages: string; preview: string; pause: string; hold: string };
  private pushing: Promise<unknown> = Promise.resolve();
  private ensuring: Promise<'adopted' | 'started'> | null = null;

  constructor(private readonly opts: HaproxyEngineOptions) {
    this.dir = path.join(opts.runDir, 'haproxy');
    this.files = {
      cfg: path.join(this.dir, 'haproxy.cfg'),
      admin: path.join(this.dir, 'admin.sock'),
      master: path.join(this.dir, 'master.sock'),
      routes: path.join(this.dir, 'routes.json'),
      pid: path.join(this.dir, 'master.json'),
      pages: path.join(this.dir, 'pages'),
      preview: path.join(this.dir, 'preview.map'),
      pause: path.join(this.dir, 'pause.map'),
      hold: path.join(this.dir, 'hold.lua'),
    };
    this.troubleshoot = `see ${opts.logFile} for why HAProxy is down, and ${this.files.cfg} for what it was given`;
  }

  /** The master's pid, for tests and `kill`: the workers are its children. */
  masterPid(): number | null {
    return this.readPid()?.pid ?? null;
  }

  private readPid(): DataPlanePidFile | null {
    return readDataPlanePid(this.files.pid);
  }

  isRunning(): boolean {
    return dataPlaneAlive(this.readPid());
  }

  private async answers(timeoutMs = 1000): Promise<Record<string, string> | null> {
    try {
      const info = parseInfo(await runtimeCommand(this.files.admin, 'show info', timeoutMs));
      return info.Pid ? info : null;
    } catch {
      return null;
    }
  }

  private want(): string {
    const m = this.opts.metrics ? ` metrics ${this.opts.metrics.host}:${this.opts.metrics.proxyPort}` : '';
    return `${this.opts.listen.host}:${this.opts.listen.port}${m}`;
  }

  ensure(): Promise<'adopted' | 'started'> {
    if (!this.ensuring) this.ensuring = this.ensureNow().finally(() => (this.ensuring = null));
    return this.ensuring;
  }

  private async ensureNow(): Promise<'adopted' | 'started'> {
    const current = this.readPid();
    if (current && isProcessAlive(current.pid, current.startTime) && (await this.answers())) {
      if (current.listen !== this.want()) this.opts.log(`HAProxy listens on ${current.listen}, kiln.yaml says ${this.want()}: restart it to change (kill ${current.pid})`);
      return 'adopted';
    }
    // A master that is alive but whose worker does not answer is stuck: it goes before a new one binds the ports.
    if (current && isProcessAlive(current.pid, current.startTime)) process.kill(current.pid, 'SIGKILL');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const loaded = await loadRouteTable(this.files.routes);
    if (loaded.problem !== null) this.opts.log(`HAProxy starts with an empty route table: ${loaded.problem}`);
    await this.writeConfig(loaded.table, this.files.cfg, true);
    rmSync(this.files.admin, { force: true });
    rmSync(this.files.master, { force: true });
    mkdirSync(path.dirname(this.opts.logFile), { recursive: true });
    const out = openSync(this.opts.logFile, 'a', 0o600);
    try {
      const child = spawn(this.opts.binary, ['-W', '-S', `${this.files.master},mode,600`, '-f', this.files.cfg], {
        detached: true,
        stdio: ['ignore', out, out],
        cwd: this.dir,
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => resolve(child.pid as number));
      });
      child.unref();
      child.on('exit', () => undefined);
      const startTime = processStartTime(pid) ?? '';
      writeFileAtomic(this.files.pid, JSON.stringify({ pid, startTime, listen: this.want() }), 0o600);
      for (let i = 0; i < 200; i++) {
        if (existsSync(this.files.admin) && (await this.answers())) {
          await this.applyStates(loaded.table);
          this.opts.log(`HAProxy started (master ${pid}) with route table version ${loaded.table.version}`);
          return 'started';
        }
        if (!isProcessAlive(pid, startTime)) break;
        await sleep(25);
      }
      const tail = readFileSync(this.opts.logFile, 'utf8').split('\n').slice(-10).join('\n');
      throw new Error(`HAProxy (${this.opts.binary}) did not start on ${this.want()}:\n${tail}`);
    } finally {
      closeSync(out);
    }
  }

  /** Writes the config for `table` (and the files it reads); with `check`, `haproxy -c` must accept it first. */
  private async writeConfig(table: RouteTable, target: string, check: boolean, slots: ReadonlyMap<string, number> = assignSlots(table)): Promise<void> {
    const cfg = haproxyConfig(table, {
      listen: { host: this.opts.listen.host, port: this.opts.listen.port },
      adminSocket: this.files.admin,
      pagesDir: this.files.pages,
      previewMap: this.files.preview,
      pauseMap: this.files.pause,
      holdScript: this.files.hold,
      tunnelIdleTimeoutMs: this.opts.listen.tunnelIdleTimeoutMs ?? 3_600_000,
      ...(this.opts.metrics ? { metrics: { host: this.opts.metrics.host, port: this.opts.metrics.proxyPort } } : {}),
    }, slots);
    mkdirSync(this.files.pages, { recursive: true, mode: 0o700 });
    for (const f of cfg.files) writeFileAtomic(f.path, f.content, 0o600);
    if (!check) return writeFileAtomic(target, cfg.text, 0o600);
    const next = `${target}.next`;
    writeFileAtomic(next, cfg.text, 0o600);
    try {
      await run(this.opts.binary, ['-c', '-q', '-f', next]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`HAProxy refused the config written for route table version ${table.version}: ${(err.stderr ?? err.message).trim()}`);
    }
    writeFileAtomic(target, readFileSync(next, 'utf8'), 0o600);
    rmSync(next, { force: true });
  }

  private async running(): Promise<RunningServer[]> {
    return parseServersState(await runtimeCommand(this.files.admin, 'show servers state'));
  }

  /** The preview slot each group has in HAProxy now (layout.ts). */
  private static slotsOf(running: readonly RunningServer[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of running) {
      const at = slotOf(r.backend);
      if (at) out.set(groupOfServer(r.name), at.slot);
    }
    return out;
  }

  /**
   * One batch that brings every server (and the preview map) to what `table` asks for; a
   * refused command (other than a delete) throws. Resolves with the preview slots used.
   */
  private async applyStates(table: RouteTable): Promise<Map<string, number>> {
    const running = await this.running();
    const slots = assignSlots(table, HaproxyEngine.slotsOf(running));
    const [preview, pause] = await runtimeBatch(this.files.admin, [`show map ${this.files.preview}`, `show map ${this.files.pause}`]);
    const batch = switchCommands(running, serversOf(table, slots), [
      { file: this.files.preview, have: parseMap(preview!), want: previewEntries(table, slots) },
      { file: this.files.pause, have: parseMap(pause!), want: pauseEntries(table) },
    ]);
    if (batch.length === 0) return slots;
    const answers = await runtimeBatch(this.files.admin, batch);
    const refused = batch.flatMap((c, i) => (isFailure(answers[i]!) && !c.startsWith('del server') ? [`${c}: ${answers[i]}`] : []));
    if (refused.length) throw new Error(`HAProxy refused route table version ${table.version}: ${refused.join('; ')}`);
    return slots;
  }

  private async applied(): Promise<RouteTable> {
    return (await loadRouteTable(this.files.routes)).table;
  }

  push(table: RouteTable): Promise<void> {
    const go = async (): Promise<void> => {
      const v = validateRouteTable(table);
      if (!v.ok) throw new Error(`invalid route table: ${v.errors[0]}`);
      const clash = table.clusters.find((c) => c.port === this.opts.listen.port);
      if (clash) throw new Error(`cluster ${clash.name} asks for port ${clash.port}, which is the proxy's public port`);
      const before = await this.applied();
      if (table.version < before.version) return; // a newer table is applied already
      const info = await this.answers(2000);
      if (!info) throw new Error('HAProxy does not answer on its runtime API');
      if (reloadKey(table) !== reloadKey(before)) {
        // Checked before it is saved: a table HAProxy cannot load is refused, the old one kept.
        // Groups keep their preview slots across the reload.
        await this.writeConfig(table, this.files.cfg, true, assignSlots(table, HaproxyEngine.slotsOf(await this.running())));
        await saveRouteTable(this.files.routes, table);
        await this.reload(info.Pid!);
        await this.applyStates(table);
        this.opts.log(`HAProxy reloaded for route table version ${table.version} (${table.clusters.length} clusters)`);
      } else {
        await saveRouteTable(this.files.routes, table);
        const slots = await this.applyStates(table);
        // The files match what runs, for the next reload or a look by hand.
        await this.writeConfig(table, this.files.cfg, false, slots);
      }
    };
    const p = this.pushing.then(go, go);
    this.pushing = p.catch(() => undefined);
    return p;
  }

  /** A master-worker reload; resolves once a new worker (not `oldPid`) answers on the stats socket. */
  private async reload(oldPid: string): Promise<void> {
    await runtimeCommand(this.files.master, 'reload', 5000).catch(() => '');
    for (let i = 0; i < 400; i++) {
      const info = await this.answers(500);
      if (info && info.Pid !== oldPid) return;
      await sleep(25);
    }
    const tail = readFileSync(this.opts.logFile, 'utf8').split('\n').slice(-10).join('\n');
    throw new Error(`HAProxy did not reload within 10 s:\n${tail}`);
  }

  async stop(): Promise<void> {
    const p = this.readPid();
    if (!p || !isProcessAlive(p.pid, p.startTime)) return;
    // SIGUSR1: soft stop, the workers finish what is in flight.
    process.kill(p.pid, 'SIGUSR1');
    for (let i = 0; i < 500 && isProcessAlive(p.pid, p.startTime); i++) await sleep(20);
    if (isProcessAlive(p.pid, p.startTime)) process.kill(p.pid, 'SIGKILL');
  }

  private async stat(timeoutMs: number): Promise<{ rows: StatRow[]; info: Record<string, string> } | null> {
    try {
      const [stat, info] = await runtimeBatch(this.files.admin, ['show stat', 'show info'], timeoutMs);
      return { rows: parseStat(stat!), info: parseInfo(info!) };
    } catch {
      return null;
    }
  }

  async stats(timeoutMs = 2000): Promise<ProxyStats | null> {
    const [s, table] = await Promise.all([this.stat(timeoutMs), this.applied()]);
    return s ? statsOf(s.rows, s.info, table) : null;
  }

  async routes(timeoutMs = 2000): Promise<RouteTable | null> {
    let text: string;
    try {
      text = await runtimeCommand(this.files.admin, 'show servers state', timeoutMs);
    } catch {
      return null;
    }
    const ready = new Set(parseServersState(text).filter((r) => r.adminState === 0).map((r) => `${r.backend}/${r.name}`));
    const table = await this.applied();
    // Active as HAProxy has it: the group whose normal servers are ready (a group without servers: as the table says).
    const readyGroup = (c: RouteTable['clusters'][number]): string | null => {
      const g = c.groups.find((g) => g.backends.some((b) => ready.has(`${backendOf(c.name)}/${b.server}`)));
      if (g) return g.name;
      const active = c.groups.find((x) => x.name === c.active);
      return active && active.backends.length === 0 ? c.active : null;
    };
    return { ...table, clusters: table.clusters.map((c) => ({ ...c, active: c.active === null ? null : readyGroup(c) })) };
  }

  async currentVersion(): Promise<number> {
    return (await this.applied()).version ?? EMPTY_ROUTE_TABLE.version;
  }
}
