// What the CLI shows of a deploy plan. One shape per concept across commands (issue 13, item 5):
// a server's rendered flags are always the argv words it is started with, ["--db=/x/orders.db"],
// in `kiln flags` and `deploy --dry-run --json`, never [name, value] pairs. (kiln.yaml's and a
// release's unrendered flags are a map, name -> template: another concept.)
import type { ClusterPlan, DeployPlan } from '../deploy/plan.js';
import { argv, planResolver } from '../runtime/args.js';

/** The flags as the server's argv gets them (${port} and ${log.file} are set per server at start). */
export function renderedFlags(c: Pick<ClusterPlan, 'args'>): string[] {
  return argv(c.args, planResolver);
}

/** The plan as the CLI shows it: each cluster's typed `args` (runtime/args.ts) and its `flags` as argv words. */
export type ClusterPlanView = ClusterPlan & { flags: string[] };
export type DeployPlanView = Omit<DeployPlan, 'clusters'> & { clusters: ClusterPlanView[] };

export function planView(plan: DeployPlan): DeployPlanView {
  return { ...plan, clusters: plan.clusters.map((c) => ({ ...c, flags: renderedFlags(c) })) };
}

/** Whether a dry run would change anything: a new group somewhere, or a data store to migrate. */
export function planChanges(plan: DeployPlan, data: Array<{ entries: unknown[] }> = []): boolean {
  return plan.clusters.some((c) => c.action !== 'unchanged') || data.some((d) => d.entries.length > 0);
}
