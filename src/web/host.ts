// What the dashboard reads and does, as the control plane provides it: the same calls the API
// answers (contract.ts), so a page shows exactly what `kiln status`, `kiln release diff` or
// `kiln deploy --dry-run` print. The web layer never touches state.db or the store itself.
import type { StreamWriter } from '../server/api.js';
import type { StatusView } from '../server/status.js';
import type { ReleaseTag } from '../server/contract.js';
import type { EventRow } from '../store/runtime-state.js';
import type { DeploymentRecord } from '../store/timeline.js';
import type { ReleaseDiff, ReleaseRecord, ReleaseSummary } from '../release/index.js';
import type { RolloutAction, RolloutView } from '../server/rollout.js';

/** A canary in progress, as `kiln rollout status` sees it, and the weight its next step has. */
export interface CanaryInfo {
  view: RolloutView;
  /** null: the last step (promoting it ends the canary). */
  nextWeight: number | null;
}

export interface EnvironmentInfo {
  name: string;
  runtime: string;
}

export interface DashboardHost {
  project(): string;
  environments(): EnvironmentInfo[];
  status(env?: string): Promise<StatusView>;
  events(env: string, limit: number): EventRow[];
  deployments(env: string, limit: number): DeploymentRecord[];
  /** For a failed deployment: each server (or crash-looping group) that failed it, with the newest lines it wrote. */
  failureTail(deployment: number, lines: number): Array<{ subject: string; lines: string[] }>;
  releases(): ReleaseSummary[];
  release(name: string): { release: ReleaseRecord; tags: ReleaseTag[] };
  diff(from: string, to: string): ReleaseDiff;
  /** The text `kiln deploy <release> --env <env> --dry-run` prints. */
  deployPlan(env: string, release: string): Promise<string>;
  /** The steps `kiln rollback --env <env>` would take. */
  rollbackPlan(env: string): Array<{ cluster: string; from: string; to: string }>;
  deploy(body: { env: string; release: string; canary?: boolean }, out: StreamWriter): Promise<unknown>;
  /** The canaries in progress in an environment. */
  canaries(env: string): CanaryInfo[];
  /** kiln rollout promote|pause|resume|abort <cluster>: the message it answers. */
  rollout(env: string, cluster: string, action: RolloutAction): Promise<string>;
  rollback(body: { env: string }, out: StreamWriter): Promise<unknown>;
  tokenMatches(presented: string): boolean;
}
