// The control plane's loop for Kubernetes environments. Their deploys run in the CLI (the
// cluster holds their state), so what this adds is what no single command does: repair what an
// interrupted command left (converge.ts) as soon as the control plane starts and then every
// 10 s, and replace a pod whose container restarted by a new pod (a server is never restarted
// in place). It skips an environment whose lease another Kiln holds: that one is at work there.
// Each pass also follows the environment's pod logs into the central log store (kube-logs.ts).
import { KilnError } from '../errors.js';
import type { ProjectSpec } from '../spec/types.js';
import { convergeKubernetes } from '../runtime/kubernetes/converge.js';
import { replaceRestartedPods } from '../runtime/kubernetes/deployer.js';
import { isKubernetesEnv, openKubeEnv } from '../runtime/kubernetes/environment.js';
import { acquireLease } from '../runtime/kubernetes/lease.js';
import type { PodLogSink } from '../runtime/kubernetes/pod-logs.js';
import { KubeLogs } from './kube-logs.js';

const EVERY_MS = 10_000;

export class KubeWatch {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** The last error per environment, logged once until it changes. */
  private readonly lastError = new Map<string, string>();
  private readonly logs: KubeLogs | null;
  private stopping = false;

  constructor(
    private readonly spec: () => ProjectSpec,
    private readonly kilnDir: string,
    private readonly event: (env: string, kind: string, message: string) => void,
    private readonly log: (m: string) => void,
    logSink: PodLogSink | null = null,
  ) {
    this.logs = logSink ? new KubeLogs(kilnDir, logSink, log) : null;
  }

  start(): void {
    const tick = (): void => {
      this.running ??= this.pass().finally(() => (this.running = null));
    };
    tick();
    this.timer = setInterval(tick, EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping = true;
    await this.running;
    await this.logs?.stop();
  }

  /** One pass over every Kubernetes environment of kiln.yaml. */
  async pass(): Promise<void> {
    let spec: ProjectSpec;
    try {
      spec = this.spec();
    } catch {
      return; // a kiln.yaml being edited: the next pass reads it again
    }
    const envs = Object.keys(spec.environments).filter((e) => isKubernetesEnv(spec, e));
    await this.logs?.keepOnly(new Set(envs));
    for (const env of envs) {
      if (this.stopping) return;
      await this.followLogs(spec, env);
      try {
        await this.passOne(spec, env);
        this.lastError.delete(env);
      } catch (e) {
        const m = e instanceof KilnError ? e.message : String(e);
        if (this.lastError.get(env) !== m) this.log(`kubernetes ${env}: ${m}`);
        this.lastError.set(env, m);
      }
    }
  }

  /** Pod logs first and apart: a lease held elsewhere or a failed repair must not stop them. */
  private async followLogs(spec: ProjectSpec, env: string): Promise<void> {
    if (!this.logs) return;
    try {
      await this.logs.sync(spec, env);
      this.lastError.delete(`${env} logs`);
    } catch (e) {
      const m = e instanceof KilnError ? e.message : String(e);
      if (this.lastError.get(`${env} logs`) !== m) this.log(`kubernetes ${env}: logs: ${m}`);
      this.lastError.set(`${env} logs`, m);
    }
  }

  private async passOne(spec: ProjectSpec, env: string): Promise<void> {
    const k = openKubeEnv(spec, env, this.kilnDir);
    try {
      let lease;
      try {
        lease = await acquireLease(k, 'the control plane', 0);
      } catch (e) {
        if (e instanceof KilnError && e.code === 'DEPLOY_IN_PROGRESS') return; // another Kiln is at work
        throw e;
      }
      try {
        for (const line of await convergeKubernetes(k)) this.event(env, 'kubernetes.repaired', line);
        for (const pod of await replaceRestartedPods(k)) this.event(env, 'server.replaced', `${pod}: its container restarted; replaced by a new pod`);
      } finally {
        await lease.release().catch(() => undefined);
      }
    } finally {
      k.client.close();
    }
  }
}
