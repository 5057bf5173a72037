// `kiln server`: the control plane. It owns the run side: state, the reconciler, the API, and
// the proxy process it feeds. Killing it (even kill -9) stops nothing that serves: servers and
// the proxy are separate processes; a new control plane adopts them from state and pid files.
import { chmodSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { KilnError, formatError } from '../errors.js';
import { fqdn } from '../names/names.js';
import { runtimeLookup, type RuntimeLookup } from './runtimes.js';
import { withCommands } from './plan-commands.js';
import { changeTraffic } from './traffic.js';
import { DEFAULT_RATE_LIMIT, startDnsServer, type DnsServerHandle } from '../dns/server.js';
import { buildZone, type Zone } from '../dns/zone.js';
import { zoneSnapshotFromState } from '../dns/snapshot.js';
import { LogService, liveLogSources } from '../logs/service.js';
import { StreamCursors } from '../logs/pod-cursors.js';
import { serveLogs } from '../logs/api.js';
import type { Runtime } from '../runtime/types.js';
import { subjectsInState } from '../logs/subjects.js';
import { loadSpec, findSpecFile } from '../spec/load.js';
import { SpecFileCache } from '../spec/spec-file-cache.js';
import type { ProjectSpec } from '../spec/types.js';
import { openStore, readToken, type Store } from '../store/init.js';
import { getRelease } from '../release/index.js';
import type { ReleaseManifest } from '../release/types.js';
import { formatDataStep, prepareDataForDeploy, type StoreDeployStep } from '../streams/data/index.js';
import { RuntimeState, LIVE_GROUP_STATES } from '../store/runtime-state.js';
import { executeDeploy, type DeployDeps, type Emit } from '../deploy/execute.js';
import { planDeploy, formatPlan } from '../deploy/plan.js';
import { environmentOf } from '../spec/lookup.js';
import { planRollback, executeRollback } from '../deploy/rollback.js';
import { teardown } from '../deploy/teardown.js';
import { stopIdleKeptGroups } from '../deploy/kept.js';
import { pruneUnusedSecretVersions } from '../deploy/secret-versions.js';
import { freePort } from '../util/ports.js';
import { appDirOf, materializeApp } from '../streams/app/index.js';
import { createApiServer, type StreamWriter } from './api.js';
import { runPaths, type RunPaths } from './paths.js';
import { dataPlaneFor, loadBalancerFor } from './data-planes.js';
import type { DataPlane } from '../proxy/data-plane.js';
import { Reconciler } from './reconciler.js';
import { ServerManager } from './server-manager.js';
import { buildRouteTable } from './route-table.js';
import { DeployLocks, lockOwnerId } from '../store/deploy-lock.js';
import { withCreatedEnvironments } from '../env/registry.js';
import { envHandlers, isEnvOperation, type EnvApiHost } from './env-api.js';
import { InterruptedOps } from './interrupted-ops.js';
import { removeOrphanContainers, removeOrphanProcesses, type OrphanSweepDeps } from './orphan-sweep.js';
import { sweepScratch } from '../store/scratch.js';
import { claimPidFile } from './pid-file.js';
import { handleCrashLoop } from './crash-loop-action.js';
import { KubeWatch } from './kube-watch.js';
import { assertDigest, isKubernetesEnv, recordedKubeDeploy, recordedKubeRollback, teardownKube, withKubeEnv, kubeDryRun } from './kube-ops.js';
import { StorageWatch } from './storage-watch.js';
import { Isolation } from '../isolation/isolation.js';
import { missingRuntimeTools, requireRuntimeTools } from '../runtime/tools.js';
import { configChanges, deployConfig } from '../deploy/config.js';
import { DeploymentConfigs } from '../store/deployment-configs.js';
import { settingsFromEnv } from '../runtime/podman/settings.js';
import { ControlPlaneMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/serve.js';
import { Canaries } from '../store/canaries.js';
import { canaryPlan, executeCanary, runCanary, type CanaryDeps, type CanaryOutcome } from '../deploy/canary.js';
import { promQuery } from '../canary/prometheus.js';
import { canaryPlanView, formatCanaryPlan } from '../canary/plan.js';
import { rolloutAction } from './rollout.js';
import { Timeline } from '../store/timeline.js';
import { serveLive } from './live-stream.js';
import { serveLogStream } from '../logs/sse.js';
import { TrafficSampler } from './traffic-share.js';
import { statusAnswer } from './status-answer.js';
import { dashboardHost } from './dashboard-host.js';
import { Dashboard } from '../web/router.js';
import { tokenMatches } from './auth.js';
import type { StatusView } from './status.js';

export interface ControlPlaneOptions {
  projectDir: string;
  /** Also listen on loopback TCP (the unix socket is always there). */
  tcp?: { host: string; port: number };
  log: (message: string) => void;
}

export class ControlPlane {
  private readonly servers: ServerManager;
  /** The data plane: `kiln proxy` or HAProxy (kiln.yaml `proxy.engine`). */
  private readonly proxy: DataPlane;
  private readonly reconciler: Reconciler;
  /** A full or read-only .kiln: shown in status, reported as events (storage-watch.ts). */
  private readonly storage: StorageWatch;
  private readonly kube: KubeWatch;
  private readonly locks: DeployLocks;
  /** pid:start-time:random: names this control plane in the deploy locks it holds. */
  private readonly lockOwner = lockOwnerId();
  private readonly runtimes: RuntimeLookup;
  /** Who servers run as (docs/isolation.md); shown in status. */
  private readonly isolation: Isolation;
  /** Central logs: every server's --log-file, stdout and stderr, tailed into .kiln/logs.db. */
  private readonly logs: LogService;
  /** Replaced whenever the route table changes; the DNS server reads it on every query. */
  private zone: Zone = buildZone({ domain: 'invalid', clusters: [] });
  private dns: DnsServerHandle | null = null;
  private apis: http.Server[] = [];
  /** Finishes env operations whose owner died (a rebuild CLI killed while this runs). */
  private readonly interruptedOps: InterruptedOps;
  /** Prometheus metrics (server/metrics.ts), served when kiln.yaml has `metrics`. */
  private readonly metrics: ControlPlaneMetrics;
  private metricsServer: MetricsServer | null = null;
  /** Canary releases in progress (store/canaries.ts), steered by kiln rollout status|promote|pause|resume|abort. */
  private readonly canaries: Canaries;
  /** Canary runs in progress, and whether this control plane is stopping (they then leave off). */
  private readonly canaryRuns = new Set<Promise<unknown>>();
  private stopping = false;
  /** Deployments and events as the dashboard's timeline and live stream read them. */
  private readonly timeline: Timeline;
  /** The proxy's recent per-group counts: each group's share of its cluster's traffic in status. */
  private readonly traffic = new TrafficSampler();

  private constructor(
    readonly spec: ProjectSpec,
    private readonly store: Store,
    readonly paths: RunPaths,
    readonly state: RuntimeState,
    private readonly log: (m: string) => void,
  ) {
    this.specFile = new SpecFileCache(spec.file);
    this.metrics = new ControlPlaneMetrics((tag) => this.logs.store.tagsOf(tag));
    state.onDeploymentFinished = (d) => this.metrics.deploymentFinished(d);
    // Podman settings come from the environment, which may be one created after start.
    this.locks = new DeployLocks(store.db);
    this.canaries = new Canaries(store.db);
    this.timeline = new Timeline(store.db);
    this.isolation = new Isolation(store.kilnDir, store.db);
    const runtimes = runtimeLookup(() => this.runningSpec().spec, store.kilnDir, this.isolation);
    this.runtimes = runtimes;
    this.logs = LogService.start({
      kilnDir: paths.kilnDir,
      log,
      retention: spec.logs.retention,
      // A link, FIFO or device where a server's log should be: skipped, and said in the events.
      tailer: {
        root: paths.logsDir,
        onSkipped: (m, t) => this.event(null, 'logs.skipped', m, { env: t.env, cluster: t.cluster, subject: t.server }),
        onStored: (runs, at) => this.metrics.logsStored(runs, at),
      },
      exporters: [
        ...(spec.logs.export.otlp ? [{ kind: 'otlp' as const, endpoint: spec.logs.export.otlp }] : []),
        ...(spec.logs.export.loki ? [{ kind: 'loki' as const, endpoint: spec.logs.export.loki }] : []),
      ],
    });
    this.servers = new ServerManager(state, (g) => runtimes(g.template.env, g.template.runtime ?? 'process'), paths, () =>
      this.logs.setSources(liveLogSources(this.state, this.paths)),
    );
    this.proxy = dataPlaneFor(spec.proxy, paths, log, spec.metrics);
    this.interruptedOps = new InterruptedOps({
      locks: this.locks,
      host: () => this.envHost(),
      event: (kind, message, about) => this.event(null, kind, message, about),
      log,
    });
    this.storage = new StorageWatch(paths.kilnDir, (kind, message) => this.event(null, kind, message, {}), log);
    this.kube = new KubeWatch(() => this.currentSpec(), paths.kilnDir, (env, kind, message) => this.event(null, kind, message, { env }), log, new StreamCursors(this.logs.store));
    this.reconciler = new Reconciler({
      state,
      servers: this.servers,
      pushRoutes: () => this.pushRoutes(),
      sweepOrphans: () => removeOrphanProcesses(this.orphanSweepDeps()),
      ensureProxy: () => this.ensureProxy(),
      inFlight: (g) => this.inFlight(g),
      crashLoop: (g, why) => this.crashLoop(g, why),
      checkStorage: () => this.storage.check(),
      event: (kind, message, about) => this.event(null, kind, message, about),
      log,
    });
  }

  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const spec = loadSpec(findSpecFile(opts.projectDir));
    const store = openStore(spec.dir);
    const paths = runPaths(store.kilnDir);
    claimPidFile(paths.serverPid);
    const cp = new ControlPlane(spec, store, paths, new RuntimeState(store.db), opts.log);
    // .kiln's modes (and its servers' group) before any server starts.
    cp.isolation.secureStore();
    await cp.recover();
    // Before DNS: a taken metrics port fails the start the way a taken DNS port does.
    if (spec.metrics) cp.metricsServer = await serveMetrics(spec.metrics.host, spec.metrics.port, () => cp.metrics.expose(), 'control plane', { allowPublic: spec.metrics.allowPublic });
    cp.dns = await startDnsServer({ host: spec.dns.host, port: spec.dns.port, rateLimit: { perSecond: spec.dns.rateLimit ?? DEFAULT_RATE_LIMIT }, zone: () => cp.zone, log: opts.log, onQuery: (t, a) => cp.metrics.dnsQuery(t, a) });
    // Only now: a big store's shrinking (in slices) never delays the first DNS answers.
    cp.logs.startRetention();
    await cp.listen(opts.tcp);
    cp.reconciler.start();
    cp.resumeCanaries();
    cp.interruptedOps.start();
    cp.kube.start();
    return cp;
  }

  /** Brings state and reality together after a restart (or a crash) before serving the API. */
  private async recover(): Promise<void> {
    const { state } = this;
    // Locks of a control plane that is gone (a kill -9 mid-deploy) free their environments now.
    // Env operations' rows stay until they are finished below: they are those operations' intent.
    for (const l of this.locks.clearStale(isEnvOperation)) this.log(`released the deploy lock of ${l.env} left by ${l.owner}`);
    const canaryDeployments = new Set(this.canaries.all().map((c) => c.deployment));
    for (const d of state.runningDeployments()) {
      // A canary goes on where it was (resumeCanaries); only its CLI's stream was cut.
      if (canaryDeployments.has(d.id)) continue;
      state.markInterrupted(d.id);
      this.event(d.id, 'deploy.interrupted', `deploy of ${d.release} to ${d.env} was interrupted by a control-plane stop`, { env: d.env });
    }
    // Groups still being created never took traffic: destroy them, the old groups serve on. So is a
    // canary group without its canary row (stopped between the row's removal and its switch).
    const canaryGroups = new Set(this.canaries.all().map((c) => c.canaryGroup));
    for (const g of state.groups({ states: ['creating', 'canary'] }).filter((g) => !canaryGroups.has(g.name))) {
      state.setGroupState(g.name, 'failed');
      await Promise.all(state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] }).map((s) => this.servers.stop(s, 2_000)));
      this.event(null, 'group.destroyed', `${g.name}: destroyed (its deploy was interrupted)`, { env: g.template.env, cluster: g.cluster, subject: g.name });
    }
    // Kept groups without a load balancer run nothing (deploy/kept.ts): a switch or rollback
    // interrupted before it stopped one's servers is finished here.
    for (const g of await stopIdleKeptGroups(state, this.servers)) {
      this.event(null, 'group.stopped', `${g}: stopped, kept for rollback (its switch was interrupted)`, { env: state.group(g)?.template.env ?? '', cluster: state.group(g)?.cluster ?? '', subject: g });
    }
    let adopted = 0;
    for (const g of state.groups({ states: LIVE_GROUP_STATES })) {
      for (const s of state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] })) {
        if (!(await this.servers.isAlive(s))) state.setServerState(s.name, 'dead', 'gone while the control plane was down');
        else if (s.state === 'starting') {
          // It was a replacement in progress; the reconciler will start another, so stop this one.
          await this.servers.stop(s, 2_000);
        } else adopted++;
      }
    }
    await removeOrphanProcesses(this.orphanSweepDeps());
    await removeOrphanContainers({ ...this.orphanSweepDeps(), spec: this.spec });
    const swept = sweepScratch(this.paths.kilnDir);
    if (swept.removed.length) this.log(`removed ${swept.removed.length} temporary file(s) of interrupted commands: ${swept.removed.join(', ')}`);
    const how = await this.proxy.ensure();
    state.raiseCounter('routes', await this.proxy.currentVersion());
    await this.pushRoutes();
    this.logs.setSources(liveLogSources(this.state, this.paths));
    await this.interruptedOps.sweep();
    await this.reconciler.tick();
    this.log(`control plane for ${this.spec.project}: ${how} ${this.proxy.name} on ${this.spec.proxy.host}:${this.spec.proxy.port}, adopted ${adopted} server(s)`);
  }

  private orphanSweepDeps(): OrphanSweepDeps {
    return { state: this.state, kilnDir: this.paths.kilnDir, runtimes: this.runtimes, log: this.log };
  }

  private envHost(): EnvApiHost {
    return {
      store: this.store,
      state: this.state,
      paths: this.paths,
      specFile: this.spec.file,
      currentSpec: () => this.currentSpec(),
      deploy: (b, out) => this.deploy(b, out),
      exclusive: (key, fn, operation) => this.exclusive(key, fn, operation),
      emitter: (env, out) => this.emitter(null, env, out),
      teardown: (env, emit) => this.teardownEnv(env, emit),
      pushRoutes: () => this.pushRoutes(),
    };
  }

  private async listen(tcp?: { host: string; port: number }): Promise<void> {
    const token = readToken(this.store.kilnDir);
    const handlers = {
      status: (q: URLSearchParams) => this.status(q.get('env') ?? undefined),
      events: async (q: URLSearchParams) => this.state.events({ env: q.get('env') ?? '', limit: Number(q.get('limit') ?? 50) }),
      deploy: (b: Record<string, unknown>, out: StreamWriter) => this.deploy(b, out),
      rollout: (b: Record<string, unknown>) => rolloutAction({ canaries: this.canaries, event: (kind, message, about) => this.event(null, kind, message, about) }, b),
      rollback: (b: Record<string, unknown>, out: StreamWriter) => this.rollback(b, out),
      down: (b: Record<string, unknown>, out: StreamWriter) => this.down(b, out),
      // No deploy lock: every route table a deploy pushes reads the modes from state too.
      traffic: (b: Record<string, unknown>) =>
        changeTraffic({ state: this.state, spec: this.currentSpec(), lb: this.deployDeps().lb, event: (kind, message, about) => this.event(null, kind, message, about) }, b),
      logs: (q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse) => serveLogs(this.logs.store, q, req, res, () => subjectsInState(this.state, Object.keys(this.spec.environments))),
      deployments: async (q: URLSearchParams) => this.timeline.deployments(environmentOf(this.currentSpec(), q.get('env') ?? '').name, Number(q.get('limit') ?? 50)),
      releases: async () => this.dashboardHost().releases(),
      release: async (q: URLSearchParams) => this.dashboardHost().release(q.get('name') ?? ''),
      releaseDiff: async (q: URLSearchParams) => this.dashboardHost().diff(q.get('from') ?? '', q.get('to') ?? ''),
      live: (q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse) =>
        serveLive(
          // A kubernetes environment's status asks its cluster: looked at less often.
          { timeline: this.timeline, status: (env) => this.status(env), pollMs: q.get('env') && isKubernetesEnv(this.currentSpec(), q.get('env')!) ? 2_000 : 300 },
          q.get('env') ?? undefined,
          req,
          res,
        ),
      logStream: (q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse) =>
        serveLogStream(this.logs.store, q, req, res, () => subjectsInState(this.state, Object.keys(this.spec.environments))),
      ...envHandlers(this.envHost()),
    };
    const listenOn = (server: http.Server, target: string | { host: string; port: number }): Promise<void> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        if (typeof target === 'string') server.listen(target, resolve);
        else server.listen(target.port, target.host, resolve);
      });
    // Only one control plane runs (claimPidFile), so a socket file left behind is stale.
    rmSync(this.paths.apiSocket, { force: true });
    const observe = (method: string, path: string, status: number, seconds: number): void => this.metrics.apiRequest(method, path, status, seconds);
    const unix = createApiServer(token, handlers, this.log, observe);
    await listenOn(unix, this.paths.apiSocket);
    chmodSync(this.paths.apiSocket, 0o600);
    this.apis.push(unix);
    if (tcp) {
      // The dashboard is served on the TCP listener only: a browser cannot reach the unix socket.
      const dashboard = new Dashboard(this.dashboardHost(token));
      const server = createApiServer(token, handlers, this.log, observe, dashboard);
      await listenOn(server, tcp);
      this.apis.push(server);
    }
  }

  /** GET /v1/status (status-answer.ts). */
  private status(env: string | undefined): Promise<StatusView> {
    return statusAnswer(
      {
        state: this.state,
        spec: this.spec,
        currentSpec: () => this.currentSpec(),
        kilnDir: this.store.kilnDir,
        proxyStats: (ms) => this.proxy.stats(ms),
        storage: () => this.storage.view(),
        isolation: () => this.isolation.view(),
        traffic: this.traffic,
        canaries: () => this.canaries.all(),
      },
      env,
    );
  }

  /** What the dashboard reads and does (dashboard-host.ts). */
  private dashboardHost(token = ''): ReturnType<typeof dashboardHost> {
    return dashboardHost({
      store: this.store,
      state: this.state,
      timeline: this.timeline,
      logs: this.logs.store,
      currentSpec: () => this.currentSpec(),
      status: (env) => this.status(env),
      deploy: (b, out) => this.deploy(b, out),
      rollback: (b, out) => this.rollback(b, out),
      rollbackPlan: (env) => planRollback(this.deployDeps(), env, undefined),
      canaries: this.canaries,
      rollout: (b) => rolloutAction({ canaries: this.canaries, event: (kind, message, about) => this.event(null, kind, message, about) }, b),
      tokenMatches: (t) => token !== '' && tokenMatches(token, t),
    });
  }

  async stop(): Promise<void> {
    // Canaries leave off at their next look (within a tick) and go on at the next start.
    this.stopping = true;
    await Promise.race([Promise.allSettled([...this.canaryRuns]), new Promise((r) => setTimeout(r, 2_000))]);
    await this.metricsServer?.close();
    await this.dns?.close();
    await this.kube.stop();
    this.interruptedOps.stop();
    this.reconciler.stop();
    await Promise.all(this.apis.map((s) => new Promise((r) => s.close(r))));
    rmSync(this.paths.apiSocket, { force: true });
    rmSync(this.paths.serverPid, { force: true });
    await this.logs.stop();
    this.store.db.close();
  }

  private event(deployment: number | null, kind: string, message: string, about: { env?: string; cluster?: string; subject?: string }): void {
    this.state.addEvent({ deployment_id: deployment, env: about.env ?? null, cluster: about.cluster ?? null, subject: about.subject ?? null, kind, message });
    this.metrics.event(kind, about);
    this.log(`${kind}: ${message}`);
  }

  async pushRoutes(): Promise<void> {
    const version = this.state.nextCounter('routes');
    await this.proxy.push(buildRouteTable(this.state, this.spec.domain, version, this.spec.proxy.trustedProxies, this.canaries.weights()));
    // After the proxy: a name never points at a group before the proxy routes to it.
    this.refreshZone();
  }

  private refreshZone(): void {
    const z = buildZone(
      zoneSnapshotFromState(this.state, { domain: this.spec.domain, lbHost: this.spec.proxy.host, serverHost: '127.0.0.1' }),
      { nameServerAddress: this.spec.dns.host },
    );
    for (const p of z.problems) this.log(`dns: ${p}`);
    this.zone = z;
  }

  /** Starts the proxy if it is not running (the reconciler's tick, and a deploy whose switch found it dead). */
  private async ensureProxy(): Promise<void> {
    if (this.proxy.isRunning()) return;
    this.log('proxy is not running: starting it');
    await this.proxy.ensure();
    await this.pushRoutes();
  }

  private async inFlight(group: string): Promise<number | null> {
    const s = await this.proxy.stats();
    return s ? (s.inFlight[group] ?? 0) : null;
  }

  /**
   * kiln.yaml read again (environments' scale and flag values may have changed since start),
   * with the environments created from releases (kiln env create).
   */
  currentSpec(): ProjectSpec {
    const spec = withCreatedEnvironments(this.specFile.load(), this.store.db);
    this.lastGoodSpec = spec;
    return spec;
  }

  private lastGoodSpec: ProjectSpec | undefined;
  /** kiln.yaml parsed again only when its text changed (status reads it on every call). */
  private readonly specFile: SpecFileCache;

  /**
   * For work on what already runs (rollback, servers started again): kiln.yaml now, or — while it
   * does not load, e.g. a typo being fixed — the last version that did, with the reason, so that
   * a typo in one section never blocks going back (the kept groups carry their own configuration).
   */
  private runningSpec(): { spec: ProjectSpec; problem: KilnError | null } {
    try {
      return { spec: this.currentSpec(), problem: null };
    } catch (e) {
      if (!(e instanceof KilnError) || e.code !== 'SPEC_INVALID') throw e;
      return { spec: this.lastGoodSpec ?? withCreatedEnvironments(this.spec, this.store.db), problem: e };
    }
  }

  private deployDeps(): DeployDeps {
    return {
      state: this.state,
      servers: this.servers,
      lb: loadBalancerFor(this.proxy, { pushRoutes: () => this.pushRoutes(), ensureProxy: () => this.ensureProxy() }),
      appDir: (digest) => materializeApp(this.store.oci, digest, this.store.kilnDir),
    };
  }

  private canaryDeps(): CanaryDeps {
    return { ...this.deployDeps(), canaries: this.canaries, proxyStats: () => this.proxy.stats(1_000), promQuery, stopping: () => this.stopping };
  }

  /** Tracks a canary run so that stop() lets it leave off before the database closes. */
  private tracked<T>(run: Promise<T>): Promise<T> {
    this.canaryRuns.add(run);
    void run.finally(() => this.canaryRuns.delete(run)).catch(() => undefined);
    return run;
  }

  /** Records how a canary deploy ended. */
  private finishCanary(id: number, outcome: CanaryOutcome): CanaryOutcome {
    if (outcome.outcome === 'aborted') this.state.finishDeployment(id, false, `canary aborted: ${outcome.failure?.lines.join('; ') ?? ''}`);
    // Interrupted: the deployment stays running; the next control plane resumes it.
    else if (outcome.outcome !== 'interrupted') this.state.finishDeployment(id, true);
    return outcome;
  }

  /** Canaries a stopped control plane left in progress go on, each under its environment's deploy lock. */
  private resumeCanaries(): void {
    const byDeployment = new Map<number, { env: string; release: string }>();
    for (const c of this.canaries.all()) byDeployment.set(c.deployment, { env: c.env, release: this.state.group(c.canaryGroup)?.release ?? '?' });
    for (const [id, d] of byDeployment) {
      const emit = this.emitter(id, d.env, { event: () => undefined });
      emit('canary.resumed', `the canary of ${d.release} goes on after a control-plane restart`);
      this.exclusive(d.env, () => this.tracked(runCanary(this.canaryDeps(), id, { deployment: id, release: d.release, env: d.env }, emit)), 'canary').then(
        (outcome) => this.finishCanary(id, outcome),
        (e: Error) => this.log(`canary of deployment ${id}: ${e.message}`),
      );
    }
  }

  /**
   * Runs `fn` holding the environment's deploy lock (one deploy, rollback or teardown at a time):
   * a row in state.db with this control plane as owner, renewed while `fn` runs, so another
   * control plane on the same .kiln is refused too, and a crashed one's lock frees itself.
   */
  private async exclusive<T>(env: string, fn: () => Promise<T>, operation = 'deploy'): Promise<T> {
    return this.locks.hold(env, this.lockOwner, operation, fn);
  }

  private async deploy(body: Record<string, unknown>, out: StreamWriter): Promise<unknown> {
    const env = str(body.env, 'env');
    const releaseName = str(body.release, 'release');
    // kiln.yaml is read again: environments (scale, flag values) may have changed since start.
    const spec = this.currentSpec();
    const envSpec = environmentOf(spec, env);
    const release = getRelease(this.store.db, this.store.oci, releaseName);
    // promote passes the digest that was tested: deploy exactly that or nothing.
    assertDigest(release, body.digest);
    if (envSpec.runtime === 'kubernetes') {
      if (body.canary === true) {
        throw new KilnError('USAGE', `a canary deploy runs through Kiln's proxy (process and podman runtimes); ${env} runs on kubernetes`, { location: { flag: '--canary' }, hint: `kiln deploy ${release.name} --env ${env} (blue/green)` });
      }
      if (body.dryRun === true) return withKubeEnv(spec, env, this.store.kilnDir, () => undefined, (k) => kubeDryRun(k, release));
      // The cluster's lease serialises writers (runtime/kubernetes/lease.ts), also against the CLI.
      return withKubeEnv(spec, env, this.store.kilnDir, () => undefined, (k) => recordedKubeDeploy(this.state, k, release, (id) => this.emitter(id, env, out)));
    }
    // The HAProxy engine does not carry the canary split yet (docs/proxy.md): refused before anything starts.
    if (body.canary === true && spec.proxy.engine === 'haproxy') {
      throw new KilnError('USAGE', `a canary deploy needs Kiln's own proxy; kiln.yaml has proxy.engine: haproxy, which does not split traffic by weight yet`, {
        location: { flag: '--canary' },
        hint: `kiln deploy ${release.name} --env ${env} (blue/green), or proxy.engine: kiln`,
      });
    }
    const lbPortFor = async (_c: string, existing: number | null): Promise<number> => existing ?? (await freePort(spec.proxy.host));
    // Before anything changes (data first): a runtime whose programs are missing here is named
    // with the environment that needs it; other environments deploy whatever is installed.
    if (body.dryRun !== true) requireRuntimeTools(env, envSpec.runtime, settingsFromEnv(envSpec.podman));
    if (body.dryRun === true) {
      const planned = await planDeploy(spec, env, release.manifest, this.state, lbPortFor, { ociDir: this.store.oci.dir, kilnDir: this.store.kilnDir });
      // Container runtimes run the image; only the process runtime needs the app's files on disk.
      const appDir = envSpec.runtime === 'process' ? this.deployDeps().appDir : async (d: string) => appDirOf(this.store.kilnDir, d);
      const plan = await withCommands(planned, this.runtimes(env, envSpec.runtime), this.paths, appDir);
      const data = await prepareDataForDeploy({ ...this.dataOptions(spec, env, release.manifest), dryRun: true });
      const config = this.configView(plan, envSpec);
      // --canary: refused here for what the deploy would refuse; else its steps and gates shown.
      const canary = body.canary === true ? canaryPlanView(plan, canaryPlan(plan, this.deployDeps(), (s, r) => spec.services[s]?.roles[r]?.canary)) : null;
      const canaryText = canary ? formatCanaryPlan(canary, env) : [];
      // Which data plane the switch goes through (kiln.yaml `proxy.engine`); the default goes unsaid in the text.
      const engine = spec.proxy.engine === 'haproxy' ? ['switch: through HAProxy (proxy.engine: haproxy), runtime-API commands, no reload'] : [];
      return { plan, data, config, proxy: { engine: spec.proxy.engine }, ...(canary ? { canary } : {}), text: [formatPlan(plan), ...data.map(formatDataStep), ...config.text, ...canaryText, ...engine].join('\n') };
    }
    return this.exclusive(env, async () => {
      const plan = await planDeploy(spec, env, release.manifest, this.state, lbPortFor, { ociDir: this.store.oci.dir, kilnDir: this.store.kilnDir });
      // --canary: every changing cluster must be able to take one, checked before anything starts.
      const canaries = body.canary === true ? canaryPlan(plan, this.deployDeps(), (s, r) => spec.services[s]?.roles[r]?.canary) : null;
      const id = this.state.startDeployment(env, release.name, 'deploy', out.by ?? null);
      // The environment's part (flags, scale from kiln.yaml now) is not in the release: recorded here.
      const config = deployConfig(plan, envSpec);
      new DeploymentConfigs(this.store.db).record(id, config.digest, config.config);
      const emit = this.emitter(id, env, out);
      const unchanged = plan.clusters.filter((c) => c.action === 'unchanged').length;
      emit('deploy.started', `deploy ${release.name} (${release.digest.slice(0, 19)}) to ${env} with configuration ${config.digest.slice(0, 19)}: ${plan.clusters.length} cluster(s)${unchanged ? `, ${unchanged} unchanged` : ''}`);
      try {
        // Data first: the stores reach the release's changelog head before any new server starts.
        // Entries that would break the running servers are refused here, before anything changes.
        const steps = await prepareDataForDeploy({ ...this.dataOptions(spec, env, release.manifest), onProgress: (l) => emit('data.progress', l) });
        for (const s of steps) emit('data.migrated', formatDataStep(s));
        if (canaries) {
          const outcome = this.finishCanary(id, await this.tracked(executeCanary(plan, this.canaryDeps(), id, canaries, emit)));
          if (outcome.outcome === 'promoted') await this.pruneImages(emit);
          return outcome;
        }
        const outcome = await executeDeploy(plan, this.deployDeps(), id, emit);
        this.state.finishDeployment(id, true);
        await this.pruneImages(emit);
        try {
          const pruned = pruneUnusedSecretVersions(this.state, this.store.kilnDir, env);
          if (pruned.length) emit('secrets.pruned', `removed ${pruned.length} secret version(s) no server uses any more`);
        } catch (e) {
          this.log(`removing unused secret versions of ${env}: ${(e as Error).message}`); // the next deploy tries again
        }
        emit('deploy.succeeded', `${release.name} serves ${env} (${outcome.groups.length ? `switched after ${outcome.switchedAfterMs} ms` : 'every cluster unchanged'})`);
        return outcome;
      } catch (e) {
        this.state.finishDeployment(id, false, (e as Error).message);
        throw e;
      }
    });
  }

  /** `deploy --dry-run`'s configuration: its digest, what it changes in what runs now, and the last deploy's. */
  private configView(plan: Awaited<ReturnType<typeof planDeploy>>, envSpec: ReturnType<typeof environmentOf>): { digest: string; running: { digest: string; deployment: number; release: string } | null; changes: string[]; text: string[] } {
    const { digest } = deployConfig(plan, envSpec);
    const last = new DeploymentConfigs(this.store.db).lastSucceeded(plan.env);
    const running = last ? { digest: last.digest, deployment: last.deployment, release: last.release } : null;
    const changes = configChanges(plan, this.state);
    const head =
      `configuration ${digest.slice(0, 19)} (flags and scale of ${plan.env} from kiln.yaml now, not part of ${plan.release})` +
      (running ? `; last deploy ${running.digest.slice(0, 19)} (deployment ${running.deployment}, ${running.release})` : '');
    return { digest, running, changes, text: [head, ...(changes.length ? changes.map((c) => `  ${c}`) : ['  no change to the configuration running now'])] };
  }

  /** Container images no live or kept group runs any more are removed, by every runtime that keeps images. */
  private async pruneImages(emit: Emit): Promise<void> {
    const keep = this.state
      .groups({ states: LIVE_GROUP_STATES })
      .flatMap((g) => (g.template.image ? [g.template.image.digest] : []));
    const done = new Set<Runtime>();
    for (const env of Object.values(this.spec.environments)) {
      const runtime = this.runtimes(env.name, env.runtime);
      if (!runtime.removeUnusedImages || done.has(runtime)) continue;
      // A runtime whose programs this machine lacks has no images here (runtime/tools.ts).
      if (missingRuntimeTools(env.runtime, settingsFromEnv(env.podman)).length) continue;
      done.add(runtime);
      try {
        const removed = await runtime.removeUnusedImages(this.spec.project, keep);
        if (removed.length) emit('images.removed', `removed ${removed.length} unused container image(s)`);
      } catch (e) {
        this.log(`removing unused images: ${(e as Error).message}`);
      }
    }
  }

  private dataOptions(spec: ProjectSpec, env: string, m: ReleaseManifest): Parameters<typeof prepareDataForDeploy>[0] {
    return { spec, kilnDir: this.store.kilnDir, env, heads: m.data ?? {}, release: m.name, allowBreaking: m.breaking === true };
  }

  private async rollback(body: Record<string, unknown>, out: StreamWriter): Promise<unknown> {
    const env = str(body.env, 'env');
    const { spec, problem } = this.runningSpec();
    const envSpec = environmentOf(spec, env);
    requireRuntimeTools(env, envSpec.runtime, settingsFromEnv(envSpec.podman));
    const cluster = body.cluster === undefined ? undefined : str(body.cluster, 'cluster');
    if (isKubernetesEnv(spec, env)) {
      if (body.dryRun === true) throw new KilnError('USAGE', `a rollback's dry run is not there yet for ${env} (kubernetes)`, { hint: `kiln status --env ${env}` });
      return withKubeEnv(spec, env, this.store.kilnDir, () => undefined, (k) => recordedKubeRollback(this.state, k, cluster, (id) => this.emitter(id, env, out)));
    }
    // The steps only (the dashboard's confirmation): nothing is locked, started or switched.
    if (body.dryRun === true) return { steps: planRollback(this.deployDeps(), env, cluster) };
    return this.exclusive(env, async () => {
      const steps = planRollback(this.deployDeps(), env, cluster);
      const release = this.state.group(steps[0]!.to)?.release ?? '?';
      const id = this.state.startDeployment(env, release, 'rollback', out.by ?? null);
      const emit = this.emitter(id, env, out);
      if (problem) emit('spec.invalid', `kiln.yaml does not load (${formatError(problem).split('\n')[0]}); rolling back with the kept groups' own configuration`);
      try {
        await executeRollback(this.deployDeps(), steps, emit);
        this.state.finishDeployment(id, true);
        return { deployment: id, steps };
      } catch (e) {
        this.state.finishDeployment(id, false, (e as Error).message);
        throw e;
      }
    }, 'rollback');
  }

  /** A group crash-loops: automatic rollback under the environment's deploy lock (crash-loop-action.ts). */
  private async crashLoop(group: string, why: string): Promise<boolean> {
    const g = this.state.group(group);
    if (!g) return true;
    const env = g.template.env;
    const outcome = await this.locks.hold(env, this.lockOwner, 'automatic rollback', () =>
      handleCrashLoop({ ...this.deployDeps(), emitter: (id) => this.emitter(id, env, { event: () => undefined }) }, group, why),
    );
    this.metrics.crashLoop(env, g.cluster, outcome);
    return outcome !== 'kept-active';
  }

  /** `kiln down`: one environment's groups, or everything (then the proxy and this process stop too). */
  private async down(body: Record<string, unknown>, out: StreamWriter): Promise<unknown> {
    const env = body.env === undefined ? undefined : str(body.env, 'env');
    const emit = this.emitter(null, env ?? null, out);
    if (env) return this.exclusive(env, () => this.teardownEnv(env, emit), 'down');
    // Every environment's deploy lock, nested (a refusal releases the ones taken): no deploy
    // or rollback runs while everything goes down.
    const envs = [...new Set(this.state.clusters().map((c) => c.env))];
    const all = envs.reduce<() => Promise<{ groups: string[] }>>((inner, e) => () => this.exclusive(e, inner, 'down'), () => teardown({ ...this.deployDeps(), pushRoutes: () => this.pushRoutes() }, undefined, emit));
    this.reconciler.stop();
    const r = await all().catch((e: unknown) => {
      this.reconciler.start();
      throw e;
    });
    await this.pruneImages(emit);
    await this.proxy.stop();
    emit('proxy.stopped', `${this.proxy.name} stopped`);
    this.onShutdown?.();
    return { ...r, stopped: true };
  }

  /** One environment's servers gone, on whatever runs it. */
  private teardownEnv(env: string, emit: Emit): Promise<{ groups: string[] }> {
    const spec = this.currentSpec();
    if (isKubernetesEnv(spec, env)) return teardownKube(spec, this.store.kilnDir, env, emit);
    return teardown({ ...this.deployDeps(), pushRoutes: () => this.pushRoutes() }, env, emit);
  }

  /** Called when the API asked the whole project to stop (kiln down without --env). */
  onShutdown: (() => void) | undefined;

  private emitter(deployment: number | null, env: string | null, out: StreamWriter): Emit {
    return (kind, message, about = {}) => {
      this.event(deployment, kind, message, { ...(env ? { env } : {}), ...about });
      out.event({ kind, message, at: new Date().toISOString(), ...about });
    };
  }

  /** The host name of a cluster, for messages. */
  hostOf(cluster: string): string {
    return fqdn(cluster, this.spec.domain);
  }
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v) throw new KilnError('USAGE', `"${field}" is required`);
  return v;
}

