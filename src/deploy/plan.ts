// Plan, then execute (ARCHITECTURE.md): everything a deploy will do, computed as data first.
// `kiln deploy --dry-run` prints it; tests assert on it; execute.ts carries it out.
import { KilnError } from '../errors.js';
import { clusterName, serverGroupName, type ClusterName } from '../names/names.js';
import type { ReleaseManifest } from '../release/types.js';
import type { EnvironmentSpec, HealthCheckSpec, ProjectSpec, RuntimeName } from '../spec/types.js';
import type { ImageRef } from '../runtime/types.js';
import type { GroupRow, RuntimeState } from '../store/runtime-state.js';
import { canonicalJson } from '../util/canonical-json.js';
import { layersOf, renderServerArgs, templateArgs } from './flags.js';
import { argv, filesOf, planResolver, type ServerArgs } from '../runtime/args.js';
import { locateStore } from '../streams/data/index.js';
import { secretVersionFile } from '../secrets/secrets.js';
import { NO_PORT_SETTLE_MS } from './health.js';
import { environmentOf } from '../spec/lookup.js';

export interface ClusterPlan {
  cluster: string;
  service: string;
  role: string;
  /**
   * "create": a new group, then a switch. "unchanged": the cluster's active group already runs
   * exactly this (same app and image digests, run command, rendered arguments — which name each
   * secret's version, so a new secret value is a change —, replicas, port, health, runtime): it keeps its group, nothing is started or switched (`group` is that group).
   */
  action: 'create' | 'unchanged';
  /** Group this deploy will create, e.g. "api-http-dev-v004" (or the kept one when unchanged). */
  group: string;
  build: number;
  replicas: number;
  /** Group taking the traffic now (drained and kept for rollback after the switch). */
  previous: string | null;
  /** The cluster's stable load-balancer port on the proxy (allocated once per cluster). */
  lbPort: number | null;
  app: { stream: string; tag: string; digest: string };
  run: string[];
  /** Flags and positional arguments, typed, with the files they name (runtime/args.ts). */
  args: ServerArgs;
  portName?: string;
  health?: HealthCheckSpec;
  /** Without a health check: ms a new server must keep running to count as started (kiln.yaml `settle`). */
  settleMs?: number;
  /** The image container runtimes start (absent on the process runtime). */
  image?: ImageRef;
  /**
   * The exact command the runtime runs for the group's first server (podman: its `podman run`),
   * filled in for `deploy --dry-run` by whoever knows the runtime (server/plan-commands.ts).
   */
  command?: string[];
}

export interface DeployPlan {
  project: string;
  env: string;
  runtime: RuntimeName;
  release: string;
  clusters: ClusterPlan[];
}


/**
 * @param lbPortFor returns the cluster's existing load-balancer port or a new free one.
 */
export async function planDeploy(
  spec: ProjectSpec,
  env: string,
  release: ReleaseManifest,
  state: RuntimeState,
  lbPortFor: (cluster: string, existing: number | null) => Promise<number>,
  where: { ociDir: string; kilnDir: string },
): Promise<DeployPlan> {
  const ociDir = where.ociDir;
  const envSpec = environmentOf(spec, env);
  if (envSpec.runtime !== 'process') {
    // Container runtimes run the release's images: every service needs one.
    const missing = Object.entries(release.services).filter(([, s]) => !s.image).map(([n]) => n);
    if (missing.length) {
      throw new KilnError('DEPLOY_FAILED', `${release.name} has no image for ${missing.join(', ')}, and environment ${env} runs ${envSpec.runtime}`, {
        hint: `give each service an os: base in kiln.yaml, run \`kiln os build <base>\`, then \`kiln release create\``,
      });
    }
  }
  const roles: Array<{ service: string; role: string; cluster: ClusterName }> = [];
  for (const [service, svc] of Object.entries(release.services)) {
    // Checked up to its last server of a build past v999: a name that would not fit fails here, not mid-deploy.
    for (const [role, r] of Object.entries(svc.roles)) {
      roles.push({ service, role, cluster: clusterName(service, role, env, envSpec.scale[service]?.[role] ?? r.replicas) });
    }
  }
  // Load-balancer ports first: flags of one service may name another's cluster URL.
  const lbPorts = new Map<string, number | null>();
  const clusterUrls: Record<string, string> = {};
  for (const r of roles) {
    const existing = state.cluster(r.cluster);
    const hasPort = release.services[r.service]?.roles[r.role]?.port !== undefined;
    const port = hasPort ? await lbPortFor(r.cluster, existing?.lb_port ?? null) : null;
    lbPorts.set(r.cluster, port);
    if (port !== null) clusterUrls[`${r.service}-${r.role}`] = `http://${spec.proxy.host}:${port}`;
  }
  const clusters = roles.map(({ service, role, cluster }): ClusterPlan => {
    const svc = release.services[service]!;
    const r = svc.roles[role]!;
    const existing = state.cluster(cluster);
    const replicas = envSpec.scale[service]?.[role] ?? r.replicas;
    const settle = spec.services[service]?.roles[role]?.settleMs;
    const args = renderServerArgs(
      layersOf(release, service, role, envSpec),
      {
        env,
        release: release.name,
        clusterUrls,
        // Secrets (a PostgreSQL store's URL too) as version files: a new value is a new path,
        // so a rotated secret makes its clusters changed and rolls out as new groups.
        locateStore: (store) => locateStore(spec, where.kilnDir, env, store, (e, n) => secretVersionFile(where.kilnDir, e, n)),
        secretFile: (name) => secretVersionFile(where.kilnDir, env, name),
      },
      service,
    );
    const wanted: ClusterPlan = {
      cluster,
      service,
      role,
      action: 'create',
      group: '',
      build: 0,
      replicas,
      previous: existing?.active_group ?? null,
      lbPort: lbPorts.get(cluster) ?? null,
      app: svc.app,
      run: svc.run,
      args,
      ...(r.port !== undefined ? { portName: r.port } : {}),
      ...(r.health ? { health: r.health } : {}),
      // kiln.yaml now, like scale: how long to watch a worker start is the deploy's, not the release's.
      ...(settle !== undefined ? { settleMs: settle } : {}),
      ...(envSpec.runtime !== 'process' && svc.image
        ? { image: { layout: ociDir, ref: svc.image.ref, digest: svc.image.digest as `sha256:${string}` } }
        : {}),
    };
    const active = existing?.active_group ? state.group(existing.active_group) : undefined;
    if (active && active.state === 'active' && sameServers(active, wanted, envSpec.runtime)) {
      return { ...wanted, action: 'unchanged', group: active.name, build: active.build };
    }
    // Build numbers are reserved only for clusters that get a new group, in plan order.
    const build = existing?.next_build ?? 1;
    return { ...wanted, group: serverGroupName(cluster, build), build };
  });
  return { project: spec.project, env, runtime: envSpec.runtime, release: release.name, clusters };
}

/**
 * Whether a running group already is what the plan would create: same app and image digests,
 * run command, rendered flag template, replicas, port, health and runtime. The release name is
 * left out on purpose: a release that changed nothing about a cluster must not restart it.
 */
export function sameServers(g: GroupRow, c: ClusterPlan, runtime: RuntimeName): boolean {
  const t = g.template;
  return (
    t.appDigest === c.app.digest &&
    (t.image?.digest ?? null) === (c.image?.digest ?? null) &&
    (t.runtime ?? 'process') === runtime &&
    g.replicas === c.replicas &&
    (t.portName ?? null) === (c.portName ?? null) &&
    canonicalJson(t.run) === canonicalJson(c.run) &&
    canonicalJson(templateArgs(t)) === canonicalJson(c.args) &&
    canonicalJson(t.health ?? null) === canonicalJson(c.health ?? null)
  );
}

/** A word as a POSIX shell reads it back: a command that can be copied from the plan. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

export function formatPlan(plan: DeployPlan): string {
  const lines = [`deploy ${plan.release} to ${plan.env} (runtime ${plan.runtime}):`];
  for (const c of plan.clusters) {
    if (c.action === 'unchanged') {
      lines.push(`  ${c.cluster}: unchanged, keeps ${c.group} (${c.app.stream}:${c.app.tag})`);
      continue;
    }
    lines.push(
      `  ${c.cluster}: new group ${c.group} with ${c.replicas} server(s) of ${c.app.stream}:${c.app.tag}` +
        (c.previous ? `, then switch from ${c.previous}` : ', first group'),
    );
    lines.push(`    run: ${[...c.run, ...argv(c.args, planResolver)].join(' ')}`);
    if (c.command) lines.push(`    command: ${c.command.map(shellWord).join(' ')}`);
    for (const f of filesOf(c.args)) {
      lines.push(`    file: ${f.host} (${f.kind === 'secret' ? `secret ${f.name}, read-only` : `store ${f.name}, its directory writable`})`);
    }
    if (c.health) lines.push(`    health: GET ${c.health.path} every ${c.health.intervalMs} ms, up to ${c.health.graceMs} ms`);
    else lines.push(`    started: once running ${c.settleMs ?? NO_PORT_SETTLE_MS} ms (no health check; the role's settle)`);
  }
  return lines.join('\n');
}
