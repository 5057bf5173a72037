// The control plane's pod log followers, one per Kubernetes environment of kiln.yaml (see
// runtime/kubernetes/pod-logs.ts). KubeWatch calls sync() on every pass: new pods are followed,
// ended streams resumed, environments gone from kiln.yaml let go. Reading logs takes no lease:
// it changes nothing in the cluster, so it runs while another Kiln deploys there.
import type { ProjectSpec } from '../spec/types.js';
import type { LogTags } from '../logs/types.js';
import { openKubeEnv } from '../runtime/kubernetes/environment.js';
import { K8S_LABEL } from '../runtime/kubernetes/manifests.js';
import { PodLogFollower, type PodLogSink } from '../runtime/kubernetes/pod-logs.js';
import type { KubeClient } from '../runtime/kubernetes/client.js';

interface Followed {
  follower: PodLogFollower;
  client: KubeClient;
  /** What the environment's settings were when it was opened: a change reopens it. */
  key: string;
}

export class KubeLogs {
  private readonly envs = new Map<string, Followed>();

  constructor(
    private readonly kilnDir: string,
    private readonly sink: PodLogSink,
    private readonly log: (m: string) => void,
  ) {}

  /** Follows the pods of `env` (opening it on first use); throws what listing its pods threw. */
  async sync(spec: ProjectSpec, env: string): Promise<void> {
    const key = JSON.stringify([spec.project, spec.environments[env]?.kubernetes]);
    let f = this.envs.get(env);
    if (f && f.key !== key) {
      await this.close(env);
      f = undefined;
    }
    if (!f) {
      const k = openKubeEnv(spec, env, this.kilnDir);
      f = {
        client: k.client,
        key,
        follower: new PodLogFollower({ client: k.client, project: spec.project, env, tagsOf: tagsFromLabels(spec, env), sink: this.sink, log: this.log }),
      };
      this.envs.set(env, f);
    }
    await f.follower.sync();
  }

  /** Lets go of environments no longer in kiln.yaml (or no longer on Kubernetes). */
  async keepOnly(envs: ReadonlySet<string>): Promise<void> {
    for (const env of [...this.envs.keys()]) if (!envs.has(env)) await this.close(env);
  }

  async stop(): Promise<void> {
    for (const env of [...this.envs.keys()]) await this.close(env);
  }

  private async close(env: string): Promise<void> {
    const f = this.envs.get(env);
    this.envs.delete(env);
    if (!f) return;
    await f.follower.stop();
    f.client.close();
  }
}

/** A pod's tags from its labels; service and role from the cluster name, as kiln.yaml spells it. */
function tagsFromLabels(spec: ProjectSpec, env: string): (labels: Record<string, string>) => Omit<LogTags, 'server' | 'stream'> | null {
  const roles = new Map<string, { service: string; role: string }>();
  for (const [service, s] of Object.entries(spec.services)) for (const role of Object.keys(s.roles)) roles.set(`${service}-${role}-${env}`, { service, role });
  return (labels) => {
    const cluster = labels[K8S_LABEL.cluster];
    const group = labels[K8S_LABEL.group];
    if (!cluster || !group) return null;
    // A cluster since removed from kiln.yaml still runs until a deploy: its lines are kept too.
    const r = roles.get(cluster) ?? { service: '?', role: '?' };
    return { project: spec.project, env, ...r, cluster, group };
  };
}
