// `kiln proxy`: the data plane as its own process. It serves from the last route table it
// acknowledged (saved before it is applied), so neither a dead control plane nor a proxy restart
// loses a route; a group that leaves the table finishes its in-flight requests (draining).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import { createAdminServer, listenAdmin, type AdminReply } from './admin.js';
import { createForwarder, replyPlain } from './forward.js';
import { inspectRequest, type IncomingInfo } from './request-head.js';
import { AddressSet } from '../util/cidr.js';
import { closeGracefully, createPublicServer, listen, PortListeners } from './listeners.js';
import { createLogger } from './log.js';
import { ProxyMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/serve.js';
import { Router, type Resolution } from './router.js';
import { Holds } from './holds.js';
import { replyMaintenance } from './maintenance.js';
import type { RouteTable } from './routes.js';
import { Stats } from './stats.js';
import { bucketCookie, bucketFromCookie, newBucket, onCanary } from './split.js';
import { createUpgrader, replyRaw, type UpgradeHandler } from './tunnel.js';
import { Tunnels } from './tunnels.js';
import { UpstreamPool } from './upstream.js';
import { loadRouteTable, saveRouteTable } from './store.js';
import { normalizeHost, validateRouteTable } from './validate.js';

export interface ProxyOptions {
  listenHost: string;
  /** 0 picks a free port; ProxyHandle.port says which. */
  listenPort: number;
  /** Unix socket path of the admin API. */
  adminSocket: string;
  /** Where the route table is persisted. */
  routesFile: string;
  /** Event log; stderr when absent. */
  logFile?: string;
  /** Upgraded connections with no bytes either way for this long are closed; 0: never. Default 1 h. */
  tunnelIdleTimeoutMs?: number;
  /** Where GET /metrics is served (kiln.yaml `metrics.host`, `metrics.proxy-port`); absent: nowhere. */
  metrics?: { host: string; port: number; allowPublic?: boolean };
}

export interface ProxyHandle {
  /** The actual public port (useful when 0 was passed). */
  port: number;
  /** The actual metrics port, when metrics are served. */
  metricsPort?: number;
  close(): Promise<void>;
}

/** How long close() lets in-flight requests finish before cutting them. */
const SHUTDOWN_DRAIN_MS = 10_000;
/** A removed cluster port's open requests get this long before their connections are cut. */
const PORT_DRAIN_MS = 60_000;
const UPSTREAM_TIMEOUT_MS = 300_000;

export async function runProxy(opts: ProxyOptions): Promise<ProxyHandle> {
  const log = createLogger(opts.logFile);
  // Tunnels are made below; the metrics read their counts only at scrape time.
  let tunnelCounts = (): Record<string, number> => ({});
  const metrics = new ProxyMetrics(() => tunnelCounts());
  const router = new Router(metrics);
  const stats = new Stats(metrics);
  // One pool of keep-alive connections to every backend, most recently used first. Idle sockets
  // are closed after 4 s, before a Node backend's default 5 s keep-alive timeout would close
  // them under us (the retry covers the remaining race).
  const pool = new UpstreamPool(UPSTREAM_TIMEOUT_MS, 4000, 1024);
  const forward = createForwarder({ router, stats, pool });
  const tunnels = new Tunnels(opts.tunnelIdleTimeoutMs ?? 3_600_000);
  tunnelCounts = () => tunnels.counts();
  const upgrade = createUpgrader({ router, stats, pool, tunnels });

  const loaded = await loadRouteTable(opts.routesFile);
  if (loaded.problem !== null) log(`starting with an empty route table: ${loaded.problem}`);
  let table: RouteTable = loaded.table;
  router.apply(table);
  // Peers whose X-Forwarded-*, Forwarded and X-Real-IP are passed on (request-head.ts).
  let trusted = new AddressSet(table.trustedProxies ?? []);

  // `port` is the cluster port the request came in on, or 0 for the Host-routed main listener.
  // Null when `r` names a group to forward to; otherwise the proxy's own answer.
  const refusal = (info: IncomingInfo, r: Resolution | undefined, port: number): { status: number; message: string } | null => {
    if (info.problem !== null) {
      metrics.unrouted.badRequest++;
      return { status: 400, message: `bad request: ${info.problem}\n` };
    }
    if (r === undefined) {
      metrics.unrouted.noRoute++;
      const host = info.host;
      const what =
        port !== 0 ? `port ${port}` : host === undefined ? 'a request without a Host header' : `host "${normalizeHost(host).slice(0, 255)}"`;
      return { status: 404, message: `no route for ${what}\n` };
    }
    if (r.kind === 'unavailable') {
      metrics.unrouted.unavailable++;
      stats.failed++;
      return { status: r.status, message: r.message };
    }
    return null;
  };
  const holds = new Holds();
  // `resolve` gives the request's route in the table of now: a held request is resolved again
  // when it is released (the pause may have been lifted by the very table that switched groups).
  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse, info: IncomingInfo, resolve: () => Resolution | undefined, port: number) => {
    stats.requests++;
    route(req, res, info, resolve, port);
  };
  const route = (req: http.IncomingMessage, res: http.ServerResponse, info: IncomingInfo, resolve: () => Resolution | undefined, port: number): void => {
    const r = resolve();
    const no = refusal(info, r, port);
    if (no !== null) {
      // After a malformed request nothing more on the connection is trusted.
      if (no.status === 400) res.shouldKeepAlive = false;
      replyPlain(res, no.status, no.message);
    } else if (r?.kind === 'group') {
      const c = r.canary;
      if (c === null) forward(req, res, info, r.group, r.fallback, r.cluster);
      else {
        // A canary in progress: the client's bucket (its cookie, or a new one it is given) picks
        // the group; a canary request no canary server accepts goes on to the stable group.
        const had = bucketFromCookie(req.headers.cookie);
        const bucket = had ?? newBucket();
        const cookie = had === null ? bucketCookie(bucket) : null;
        if (onCanary(bucket, c.threshold, c.offset)) forward(req, res, info, c.group, r.group, r.cluster, cookie);
        else forward(req, res, info, r.group, r.fallback, r.cluster, cookie);
      }
    } else if (r?.kind === 'maintenance') replyMaintenance(res, r.page);
    else if (r?.kind === 'held') {
      const waiter = { release: () => route(req, res, info, resolve, port), expire: (why: string) => replyPaused(res, why) };
      const taken = holds.hold(r.cluster, r.until, waiter, (drop) => res.once('close', drop));
      if (!taken) replyPaused(res, `cluster ${r.cluster} is paused${r.until <= Date.now() ? ' and its bound passed' : ' and holds as many requests as it may'}; kiln resume ${r.cluster} lets requests through again`);
    }
  };
  const replyPaused = (res: http.ServerResponse, why: string): void => {
    stats.failed++;
    if (!res.headersSent) res.setHeader('Retry-After', '5');
    replyPlain(res, 503, `${why}\n`);
  };
  const upgradeOn =
    (port: number, resolve: (info: IncomingInfo) => Resolution | undefined): UpgradeHandler =>
    (req, socket, head, resume) => {
      stats.requests++;
      const info = inspectRequest(req, trusted);
      const r = resolve(info);
      const no = refusal(info, r, port);
      if (no !== null) replyRaw(socket, no.status, no.message);
      // A tunnel is not held: it would keep its connection past the pause. Refused, as in maintenance.
      else if (r?.kind === 'maintenance' || r?.kind === 'held') replyRaw(socket, 503, `cluster ${r.cluster} is ${r.kind === 'held' ? 'paused' : 'in maintenance'}\n`);
      // An upgrade is not failed over server by server (see tunnel.ts); it goes to the kept
      // group only when the active one has no server left in the table.
      else if (r?.kind === 'group') {
        // A tunnel is placed once, by the client's bucket, and stays on its group until it closes
        // (an abort removes the canary group from the table, which closes its tunnels).
        const c = r.canary;
        if (c !== null && onCanary(bucketFromCookie(req.headers.cookie) ?? newBucket(), c.threshold, c.offset)) {
          upgrade(req, socket, head, info, c.group, port, resume);
          return;
        }
        const fellBack = r.group.backends.length === 0 && r.fallback !== null;
        if (fellBack && r.cluster !== null && r.fallback) r.fallback.metrics.cluster.fallbacks++;
        upgrade(req, socket, head, info, fellBack && r.fallback ? r.fallback : r.group, port, resume);
      }
    };

  const main = createPublicServer(
    (req, res) => {
      const info = inspectRequest(req, trusted);
      dispatch(req, res, info, () => router.byHost(info.host), 0);
    },
    upgradeOn(0, (info) => router.byHost(info.host)),
  );
  const ports = new PortListeners(
    opts.listenHost,
    (port) => (req, res) => dispatch(req, res, inspectRequest(req, trusted), () => router.byPort(port), port),
    log,
    PORT_DRAIN_MS,
    (port) => upgradeOn(port, () => router.byPort(port)),
  );
  const clusterPorts = (t: RouteTable) => t.clusters.flatMap((c) => (c.port === undefined ? [] : [c.port]));

  await listen(main, opts.listenPort, opts.listenHost);
  const publicPort = (main.address() as AddressInfo).port;
  await ports.sync(clusterPorts(table).filter((p) => p !== publicPort));

  // PUTs are applied one at a time, in arrival order: version check, save, apply.
  let queue: Promise<unknown> = Promise.resolve();
  const putTable = (body: unknown): Promise<AdminReply> => {
    const run = queue.then(async (): Promise<AdminReply> => {
      const v = validateRouteTable(body);
      if (!v.ok) {
        return { status: 400, body: { error: 'invalid', message: `invalid route table: ${v.errors[0]}`, errors: v.errors } };
      }
      const next = v.table;
      const clash = next.clusters.find((c) => c.port === publicPort);
      if (clash) {
        const message = `cluster ${clash.name} asks for port ${publicPort}, which is the proxy's public port`;
        return { status: 400, body: { error: 'invalid', message, errors: [message] } };
      }
      if (next.version < table.version) {
        const message = `route table version ${next.version} is older than the current version ${table.version}; ignored`;
        return { status: 409, body: { error: 'stale', message, version: table.version } };
      }
      try {
        await saveRouteTable(opts.routesFile, next);
      } catch (e) {
        const message = `cannot save the route table to ${opts.routesFile}: ${(e as Error).message}; old table kept`;
        log(message);
        return { status: 500, body: { error: 'save_failed', message } };
      }
      table = next;
      router.apply(table);
      holds.apply(new Map(table.clusters.flatMap((c) => (c.hold && !c.maintenance ? [[c.name, c.hold.until] as const] : []))));
      trusted = new AddressSet(table.trustedProxies ?? []);
      log(`applied route table version ${table.version} (${table.clusters.length} clusters)`);
      const warnings = await ports.sync(clusterPorts(table));
      const openPorts = new Set(ports.ports());
      const cut = tunnels.prune((g) => router.isCurrentGroup(g), (p) => openPorts.has(p));
      if (cut > 0) log(`closed ${cut} upgraded connection(s) whose server group or cluster port left the route table`);
      return { status: 200, body: { version: table.version, warnings } };
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const admin = createAdminServer({
    table: () => table,
    putTable,
    stats: () => stats.snapshot(table.version, tunnels.counts()),
  });
  let metricsServer: MetricsServer | null = null;
  try {
    // Metrics first: a taken metrics port fails the start before the admin socket exists.
    if (opts.metrics) metricsServer = await serveMetrics(opts.metrics.host, opts.metrics.port, () => metrics.expose(), 'proxy', {
      allowPublic: opts.metrics.allowPublic === true,
      allowWith: '--metrics-allow-public (kiln.yaml metrics.allow-public: true)',
    });
    await listenAdmin(admin, opts.adminSocket);
  } catch (e) {
    await metricsServer?.close();
    await ports.closeAll(0);
    await closeGracefully(main, 0);
    pool.destroy();
    throw e;
  }
  log(
    `listening on ${opts.listenHost}:${publicPort}, admin ${opts.adminSocket}` +
      (metricsServer ? `, metrics http://${opts.metrics!.host}:${metricsServer.port}/metrics` : '') +
      `, route table version ${table.version}`,
  );

  let closing: Promise<void> | null = null;
  return {
    port: publicPort,
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    close() {
      closing ??= (async () => {
        await metricsServer?.close();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
        admin.closeAllConnections();
        await fs.rm(opts.adminSocket, { force: true });
        // A tunnel has no request boundary to wait for: cut it now so the client reconnects.
        tunnels.closeAll();
        await Promise.all([closeGracefully(main, SHUTDOWN_DRAIN_MS), ports.closeAll(SHUTDOWN_DRAIN_MS)]);
        pool.destroy();
        log('stopped');
      })();
      return closing;
    },
  };
}

/**
 * Runs the proxy until SIGTERM or SIGINT, then closes it gracefully (a second signal exits at
 * once). Prints one line on stdout once it is serving; everything else goes to the log.
 */
export async function proxyMain(opts: ProxyOptions): Promise<void> {
  const handle = await runProxy(opts);
  process.stdout.write(`kiln proxy listening on http://${opts.listenHost}:${handle.port} (admin socket ${opts.adminSocket})\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(1);
      stopping = true;
      handle.close().then(resolve, resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
