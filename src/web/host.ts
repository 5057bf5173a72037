// What the dashboard reads and does, as the control plane provides it: the same calls the API
// answers (contract.ts), so a page shows exactly what `kiln status`, `kiln release diff` or
// `kiln deploy --dry-run` print. The web layer never touches state.db or the store itself.
import type { StreamWriter } from '../server/api.js';
import type { StatusView } from '../server/status.js';
import type { ReleaseTag } from '../server/contract.js';
import type { EventRow } from '../store/runtime-state.js';
import type { DeploymentRecord } from '../store/timeline.js';
import type { ReleaseDiff, ReleaseRecord, ReleaseSummary } from '../release/index.js';

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
  deploy(body: { env: string; release: string }, out: StreamWriter): Promise<unknown>;
  rollback(body: { env: string }, out: StreamWriter): Promise<unknown>;
  tokenMatches(presented: string): boolean;
}
