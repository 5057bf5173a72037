// `kiln pause|resume <cluster>` and `kiln maintenance on|off <cluster>`: a cluster's traffic mode
// in state.db (store/traffic-modes.ts), then the route table that carries it, confirmed by the
// proxy (deploy/load-balancer.ts), so the command returns once the proxy holds or answers.
import fs from 'node:fs';
import { KilnError } from '../errors.js';
import type { LoadBalancer } from '../deploy/load-balancer.js';
import { environmentOf } from '../spec/lookup.js';
import { DEFAULT_MAINTENANCE_PAGE } from '../proxy/maintenance.js';
import { MAX_PAGE_BYTES } from '../proxy/routes.js';
import type { ProjectSpec } from '../spec/types.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { TrafficModes, type TrafficMode } from '../store/traffic-modes.js';

export const TRAFFIC_ACTIONS = ['pause', 'resume', 'maintenance-on', 'maintenance-off'] as const;
export type TrafficAction = (typeof TRAFFIC_ACTIONS)[number];

/** How long a pause holds requests unless `--for` says otherwise, and the most it may. */
export const DEFAULT_PAUSE_MS = 30_000;
export const MAX_PAUSE_MS = 60 * 60_000;

export interface TrafficHost {
  state: RuntimeState;
  spec: ProjectSpec;
  lb: LoadBalancer;
  event(kind: string, message: string, about: { env: string; cluster: string }): void;
}

export interface TrafficResult {
  env: string;
  cluster: string;
  action: TrafficAction;
  mode: TrafficMode;
}

export async function changeTraffic(host: TrafficHost, body: Record<string, unknown>): Promise<TrafficResult> {
  const env = text(body.env, 'env');
  const cluster = text(body.cluster, 'cluster');
  const action = body.action as TrafficAction;
  if (!TRAFFIC_ACTIONS.includes(action)) throw new KilnError('USAGE', `action must be one of ${TRAFFIC_ACTIONS.join(', ')}`);
  const envSpec = environmentOf(host.spec, env);
  if (envSpec.runtime === 'kubernetes') {
    throw new KilnError('RUNTIME_UNSUPPORTED', `pause and maintenance are done by Kiln's proxy, which does not carry ${env}'s traffic (a Kubernetes Service does)`, {
      hint: 'scale the group or change the Service there; see docs/proxy.md',
    });
  }
  const row = host.state.clusters(env).find((c) => c.name === cluster);
  if (!row) {
    throw new KilnError('CLUSTER_NOT_FOUND', `cluster "${cluster}" does not exist in environment ${env}`, {
      location: { flag: '<cluster>' },
      hint: `clusters: ${host.state.clusters(env).filter((c) => c.lb_port).map((c) => c.name).join(', ') || 'none (nothing deployed yet)'}`,
    });
  }
  if (!row.lb_port) throw new KilnError('USAGE', `cluster ${cluster} is a worker: it has no load balancer whose traffic could be held`);

  const modes = new TrafficModes(host.state.db);
  let message: string;
  switch (action) {
    case 'pause': {
      const forMs = body.forMs === undefined ? DEFAULT_PAUSE_MS : Number(body.forMs);
      if (!Number.isSafeInteger(forMs) || forMs <= 0 || forMs > MAX_PAUSE_MS) {
        throw new KilnError('USAGE', `--for must be between 1ms and ${MAX_PAUSE_MS / 60_000}m`, { location: { flag: '--for' } });
      }
      modes.pause(cluster, Date.now() + forMs);
      message = `${cluster}: paused; new requests wait up to ${Math.round(forMs / 1000)} s, then get 503 (kiln resume ${cluster} --env ${env})`;
      break;
    }
    case 'resume':
      modes.resume(cluster);
      message = `${cluster}: resumed; waiting requests go on in the order they came`;
      break;
    case 'maintenance-on': {
      const m = envSpec.maintenance;
      const page = m?.page ? readPage(m.page) : DEFAULT_MAINTENANCE_PAGE;
      const retryAfterS = Math.ceil((m?.retryAfterMs ?? 60_000) / 1000);
      modes.maintenanceOn(cluster, page, retryAfterS);
      message = `${cluster}: in maintenance; every request gets 503 with ${m?.page ?? 'the built-in page'} and Retry-After ${retryAfterS}`;
      break;
    }
    case 'maintenance-off':
      modes.maintenanceOff(cluster);
      message = `${cluster}: maintenance off`;
      break;
  }
  const routed = await host.lb.route([]);
  if (!routed.ok) {
    throw new KilnError('RUNTIME_FAILED', `${host.lb.name} did not take the change: ${routed.detail}`, {
      hint: `it is recorded and the proxy gets it when it is back; ${host.lb.troubleshoot}`,
    });
  }
  host.event(`cluster.${action}`, message, { env, cluster });
  return { env, cluster, action, mode: modes.of(cluster) };
}

function readPage(file: string): string {
  let page: Buffer;
  try {
    page = fs.readFileSync(file);
  } catch (e) {
    throw new KilnError('SPEC_INVALID', `maintenance page ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      location: { file },
      hint: 'fix environments.<env>.maintenance.page in kiln.yaml',
    });
  }
  if (page.length > MAX_PAGE_BYTES) {
    throw new KilnError('SPEC_INVALID', `maintenance page ${file} has ${page.length} bytes; at most ${MAX_PAGE_BYTES} are sent`, { location: { file } });
  }
  return page.toString('utf8');
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new KilnError('USAGE', `${what} is required`);
  return v;
}
