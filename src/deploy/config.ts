// The configuration a deploy renders for an environment (docs/architecture.md, "A release and an
// environment"): what the servers get besides the release's code, OS and data — per cluster its
// replicas and rendered flags, from kiln.yaml's environment at deploy time. Recorded with each
// deployment (store/deployment-configs.ts) and compared with what runs now by `deploy --dry-run`.
import crypto from 'node:crypto';
import type { EnvironmentSpec } from '../spec/types.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { DeployPlan } from './plan.js';
import { argv, planResolver, type ServerArgs } from '../runtime/args.js';
import { templateArgs } from './flags.js';

export interface DeployConfig {
  env: string;
  runtime: string;
  /** kiln.yaml's environment-level parts as written: `${secret.…}` stays a reference. */
  environment: { flags: EnvironmentSpec['flags']; scale: EnvironmentSpec['scale'] };
  /** What each cluster's servers get: secrets as the paths of their version files, never values. */
  clusters: Record<string, { replicas: number; args: string[] }>;
}

export function deployConfig(plan: DeployPlan, envSpec: EnvironmentSpec): { digest: string; config: DeployConfig } {
  const config: DeployConfig = {
    env: plan.env,
    runtime: plan.runtime,
    environment: { flags: envSpec.flags, scale: envSpec.scale },
    clusters: Object.fromEntries(plan.clusters.map((c) => [c.cluster, { replicas: c.replicas, args: argv(c.args, planResolver) }])),
  };
  return { digest: `sha256:${crypto.createHash('sha256').update(canonicalJson(config)).digest('hex')}`, config };
}

/** Each flag as it is written (`--db=/…`, or `--db /…` in the space style), by name; positional arguments as one entry. */
function written(args: ServerArgs): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of args.flags) out.set(f.name, argv({ ...args, flags: [f], positional: [] }, planResolver).join(' '));
  if (args.positional.length) out.set('(arguments)', argv({ ...args, flags: [] }, planResolver).join(' '));
  return out;
}

/**
 * What the plan changes in the configuration running now (each cluster's active group): new
 * clusters, replicas, flags added, removed or given another value. One line per change.
 */
export function configChanges(plan: DeployPlan, state: RuntimeState): string[] {
  const out: string[] = [];
  for (const c of plan.clusters) {
    const active = c.previous ? state.group(c.previous) : undefined;
    const wanted = written(c.args);
    if (!active) {
      out.push(`${c.cluster}: new, ${c.replicas} server(s)${wanted.size ? `, ${[...wanted.values()].join(' ')}` : ''}`);
      continue;
    }
    if (active.replicas !== c.replicas) out.push(`${c.cluster}: replicas ${active.replicas} -> ${c.replicas}`);
    const now = written(templateArgs(active.template));
    for (const [k, v] of wanted) {
      if (!now.has(k)) out.push(`${c.cluster}: + ${v}`);
      else if (now.get(k) !== v) out.push(`${c.cluster}: ${now.get(k)} -> ${v}`);
    }
    for (const [k, v] of now) if (!wanted.has(k)) out.push(`${c.cluster}: - ${v}`);
  }
  return out;
}
