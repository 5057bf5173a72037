// The configuration a deploy renders for an environment (docs/architecture.md, "A release and an
// environment"): what the servers get besides the release's code, OS and data — per cluster its
// replicas and rendered flags, from kiln.yaml's environment at deploy time. Recorded with each
// deployment (store/deployment-configs.ts) and compared with what runs now by `deploy --dry-run`.
import crypto from 'node:crypto';
import type { EnvironmentSpec } from '../spec/types.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { DeployPlan } from './plan.js';

export interface DeployConfig {
  env: string;
  runtime: string;
  /** kiln.yaml's environment-level parts as written: `${secret.…}` stays a reference. */
  environment: { flags: EnvironmentSpec['flags']; scale: EnvironmentSpec['scale'] };
  /** What each cluster's servers get: secrets as the paths of their version files, never values. */
  clusters: Record<string, { replicas: number; flags: Array<[string, string]> }>;
}

export function deployConfig(plan: DeployPlan, envSpec: EnvironmentSpec): { digest: string; config: DeployConfig } {
  const config: DeployConfig = {
    env: plan.env,
    runtime: plan.runtime,
    environment: { flags: envSpec.flags, scale: envSpec.scale },
    clusters: Object.fromEntries(plan.clusters.map((c) => [c.cluster, { replicas: c.replicas, flags: c.flags }])),
  };
  return { digest: `sha256:${crypto.createHash('sha256').update(canonicalJson(config)).digest('hex')}`, config };
}

const flag = ([k, v]: [string, string]): string => `--${k}=${v}`;

/**
 * What the plan changes in the configuration running now (each cluster's active group): new
 * clusters, replicas, flags added, removed or given another value. One line per change.
 */
export function configChanges(plan: DeployPlan, state: RuntimeState): string[] {
  const out: string[] = [];
  for (const c of plan.clusters) {
    const active = c.previous ? state.group(c.previous) : undefined;
    if (!active) {
      out.push(`${c.cluster}: new, ${c.replicas} server(s)${c.flags.length ? `, ${c.flags.map(flag).join(' ')}` : ''}`);
      continue;
    }
    if (active.replicas !== c.replicas) out.push(`${c.cluster}: replicas ${active.replicas} -> ${c.replicas}`);
    const now = new Map(active.template.flags);
    const wanted = new Map(c.flags);
    for (const [k, v] of c.flags) {
      if (!now.has(k)) out.push(`${c.cluster}: + ${flag([k, v])}`);
      else if (now.get(k) !== v) out.push(`${c.cluster}: ${flag([k, now.get(k)!])} -> ${flag([k, v])}`);
    }
    for (const [k, v] of active.template.flags) if (!wanted.has(k)) out.push(`${c.cluster}: - ${flag([k, v])}`);
  }
  return out;
}
