// Deploying a release to a Kubernetes environment (ARCHITECTURE.md's deploy, on Kubernetes):
// plan → publish images → Secrets → a new Deployment per changed cluster → wait until every pod
// of every new group is ready (a restart, an image or config error, or the deadline fails it) →
// switch every cluster Service to its new group (service-load-balancer.ts) → keep the previous group for
// rollback (a worker's scaled to zero), delete older ones. The state is the cluster's own
// (cluster-record.ts), so any process can pick up where a killed one stopped.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import type { ReleaseRecord } from '../../release/types.js';
import { secretFile } from '../../secrets/secrets.js';
import { formatDataStep, prepareDataForDeploy } from '../../streams/data/index.js';
import { canonicalJson } from '../../util/canonical-json.js';
import type { ApiObject } from './client.js';
import { listRecords, readRecord, updateRecord, type ClusterRecord } from './cluster-record.js';
import { convergeKubernetes, pruneSecrets } from './converge.js';
import { withLease } from './lease.js';
import type { KubeEnv } from './environment.js';
import { K8S_LABEL, secretObject, secretObjectName } from './manifests.js';
import type { Deployment } from './objects.js';
import { planKubernetes, type KubeClusterPlan, type KubePlan } from './plan.js';
import { podVerdict, type PodView } from './pods.js';
import { pushCommand, runCommand } from './publish.js';
import { deleteGroup, groupsOf, recyclePods, scaleGroup, SWITCH_SETTLE_MS, waitGroupsReady } from './groups.js';
import { serviceLoadBalancer } from './service-load-balancer.js';

/** Annotation holding the digest of what a group runs: equal digests mean the cluster is unchanged. */
export const TEMPLATE_ANNOTATION = 'kiln.io/template-digest';

export interface KubeClusterResult {
  cluster: string;
  action: 'create' | 'unchanged';
  group: string;
  previous: string | null;
}

export interface KubeDeployResult {
  release: string;
  env: string;
  namespace: string;
  clusters: KubeClusterResult[];
  /** Milliseconds from the last new pod ready to the last Service switched. */
  switchMs: number;
}

/** What makes two groups the same servers: the pod template without names, and the replica count. */
export function templateDigest(d: Deployment): string {
  const pod = d.spec.template.spec;
  return createHash('sha256').update(canonicalJson({ replicas: d.spec.replicas, pod })).digest('hex');
}

/** Secret object names versioned by content digest: a new value is a new object, rolled out by a new group. */
function secretVersions(k: KubeEnv): { objectOf: (name: string) => string; values: Map<string, { name: string; value: Buffer }> } {
  const values = new Map<string, { name: string; value: Buffer }>();
  return {
    values,
    objectOf: (name) => {
      const value = readFileSync(secretFile(k.kilnDir, k.env, name));
      const digest = createHash('sha256').update(value).digest('hex').slice(0, 10);
      const objectName = secretObjectName(k.env, name, digest);
      values.set(objectName, { name, value });
      return objectName;
    },
  };
}

function deploymentOf(c: KubeClusterPlan): Deployment {
  return c.objects.find((o): o is Deployment => o.kind === 'Deployment')!;
}

export async function planKubernetesDeploy(k: KubeEnv, release: ReleaseRecord): Promise<{ plan: KubePlan; records: Map<string, ClusterRecord>; unchanged: Set<string>; secrets: ReturnType<typeof secretVersions> }> {
  const secrets = secretVersions(k);
  const clusters = Object.entries(release.manifest.services).flatMap(([svc, s]) => Object.keys(s.roles).map((role) => `${svc}-${role}-${k.env}`));
  const records = new Map<string, ClusterRecord>();
  for (const c of clusters) records.set(c, await readRecord(k.client, c));
  const plan = planKubernetes(k.spec, k.env, release.manifest, {
    kilnDir: k.kilnDir,
    buildOf: (c) => records.get(c)?.nextBuild ?? 1,
    secretObjectOf: secrets.objectOf,
  });
  const unchanged = new Set<string>();
  for (const c of plan.clusters) {
    const active = records.get(c.cluster)?.active;
    if (!active) continue;
    const live = await k.client.get<Deployment & ApiObject>('Deployment', active);
    if (live && live.metadata.annotations?.[TEMPLATE_ANNOTATION] === templateDigest(deploymentOf(c)) && live.spec.replicas === c.replicas) unchanged.add(c.cluster);
  }
  return { plan, records, unchanged, secrets };
}

/**
 * A deploy under the environment's lease, after repairing what an interrupted operation left
 * (converge.ts), so it plans from a namespace that matches its records.
 */
export function deployKubernetes(k: KubeEnv, release: ReleaseRecord): Promise<KubeDeployResult> {
  return withLease(k, `the deploy of ${release.name}`, async () => {
    for (const line of await convergeKubernetes(k)) k.progress(`repaired: ${line}`);
    return deployUnderLease(k, release);
  });
}

async function deployUnderLease(k: KubeEnv, release: ReleaseRecord): Promise<KubeDeployResult> {
  const { plan, records, unchanged, secrets } = await planKubernetesDeploy(k, release);
  const changed = plan.clusters.filter((c) => !unchanged.has(c.cluster));
  const result = (switchMs: number): KubeDeployResult => ({
    release: plan.release,
    env: k.env,
    namespace: plan.namespace,
    switchMs,
    clusters: plan.clusters.map((c) => ({
      cluster: c.cluster,
      action: unchanged.has(c.cluster) ? 'unchanged' : 'create',
      group: unchanged.has(c.cluster) ? records.get(c.cluster)!.active! : c.group,
      previous: unchanged.has(c.cluster) ? records.get(c.cluster)!.previous : records.get(c.cluster)?.active ?? null,
    })),
  });
  if (!changed.length) {
    k.progress(`${release.name}: every cluster already runs it; nothing to do`);
    return result(0);
  }

  // Data first, as on every runtime: stores reach the release's changelog head before any new
  // pod starts; an entry that would break the running servers is refused before anything changes.
  const steps = await prepareDataForDeploy({
    spec: k.spec, kilnDir: k.kilnDir, env: k.env, heads: release.manifest.data ?? {}, release: release.name,
    allowBreaking: release.manifest.breaking === true, onProgress: k.progress,
  });
  for (const s of steps) k.progress(formatDataStep(s));

  // Publish: each image once, by digest, before any pod needs it.
  if (k.settings.registry) {
    const images = new Map<string, { digest: string; ref: string }>();
    for (const c of changed) {
      const img = release.manifest.services[c.service]!.image!;
      images.set(img.digest, img);
    }
    for (const img of images.values()) {
      k.progress(`pushing ${img.digest.slice(0, 19)} to ${k.settings.registry}`);
      await runCommand(pushCommand({ layout: path.join(k.kilnDir, 'oci'), ref: img.ref, digest: img.digest as `sha256:${string}` }, k.spec.project, k.settings.registry, k.settings.registryCertDir));
    }
  }
  for (const [objectName, s] of secrets.values) {
    await k.client.create(secretObject({ project: k.spec.project, env: k.env, name: s.name, objectName, value: s.value }, k.settings));
  }

  // Reserve each build number first: a second deploy racing this one fails here, before any pod.
  for (const c of changed) {
    await updateRecord(k.client, { project: k.spec.project, env: k.env, cluster: c.cluster }, (r) => {
      if (r.nextBuild !== c.build) {
        throw new KilnError('DEPLOY_IN_PROGRESS', `cluster ${c.cluster} moved to build ${r.nextBuild} while this deploy planned ${c.build}`, { hint: 'another deploy ran meanwhile; run this one again' });
      }
      return { ...r, nextBuild: c.build + 1 };
    });
  }
  for (const c of changed) {
    const d = deploymentOf(c);
    d.metadata.annotations = { ...(d.metadata.annotations ?? {}), [TEMPLATE_ANNOTATION]: templateDigest(d) };
    for (const o of c.objects) if (o.kind !== 'Service' || o.metadata.name === c.group) await k.client.apply(o);
    k.progress(`${c.cluster}: group ${c.group} created (${c.replicas} pod(s))`);
  }

  const graceMs = Math.max(...changed.map((c) => (release.manifest.services[c.service]!.roles[c.role]!.health?.graceMs ?? 60_000)));
  try {
    await waitGroupsReady(k, changed.map((c) => ({ group: c.group, replicas: c.replicas })), graceMs + 30_000);
  } catch (e) {
    for (const c of changed) await deleteGroup(k, c.group);
    throw e;
  }

  const readyAt = Date.now();
  // The records first: interrupted after them, convergence finishes the switch (forward); before
  // them, convergence deletes the new groups, which never had traffic. Then the load balancer
  // (the cluster Services) switches every cluster with a Service at once.
  for (const c of changed) {
    const previous = records.get(c.cluster)!.active;
    await updateRecord(k.client, { project: k.spec.project, env: k.env, cluster: c.cluster }, (r) => ({ ...r, active: c.group, previous }));
  }
  const served = changed.filter((c) => c.objects.some((o) => o.kind === 'Service' && o.metadata.name === c.cluster));
  const lb = serviceLoadBalancer(k);
  const routed = await lb.route(served.map((c) => ({ cluster: c.cluster, group: c.group })));
  if (!routed.ok) {
    throw new KilnError('DEPLOY_FAILED', `deploy of ${release.name} to ${k.env}: ${lb.name} did not switch (${routed.detail})`, { hint: `the next deploy or rollback finishes the switch as recorded; ${lb.troubleshoot}` });
  }
  for (const c of changed) {
    const previous = records.get(c.cluster)!.active;
    if (!served.includes(c) && previous) await scaleGroup(k, previous, 0); // a worker: the previous group stops working
    k.progress(`${c.cluster}: switched to ${c.group}${previous ? `, ${previous} kept for rollback` : ''}`);
  }
  const switchMs = Date.now() - readyAt;
  await recycleKept(k, served.map((c) => records.get(c.cluster)!.active));

  // Older groups than the kept one go.
  for (const c of changed) {
    const keep = new Set([c.group, records.get(c.cluster)!.active].filter((g): g is string => !!g));
    for (const g of await groupsOf(k, c.cluster)) if (!keep.has(g)) await deleteGroup(k, g);
  }
  await pruneSecrets(k);
  return result(switchMs);
}

/** Back to each cluster's kept group: a worker's is scaled up and waited for, then the Services switch. */
export function rollbackKubernetes(k: KubeEnv, only?: string): Promise<Array<{ cluster: string; from: string; to: string }>> {
  return withLease(k, 'the rollback', async () => {
    for (const line of await convergeKubernetes(k)) k.progress(`repaired: ${line}`);
    return rollbackUnderLease(k, only);
  });
}

async function rollbackUnderLease(k: KubeEnv, only?: string): Promise<Array<{ cluster: string; from: string; to: string }>> {
  const records = (await listRecords(k.client, k.spec.project, k.env)).filter((r) => r.previous && r.active && (!only || r.cluster === only));
  if (!records.length) {
    throw new KilnError('NOTHING_TO_ROLL_BACK', only ? `cluster ${only} has no kept group in ${k.env}` : `no cluster of ${k.env} has a kept group`, { hint: 'a rollback needs a previous deploy whose group is still kept' });
  }
  const moved: Array<{ cluster: string; from: string; to: string }> = [];
  const waits: Array<{ group: string; replicas: number }> = [];
  for (const r of records) {
    const prev = await k.client.get<Deployment & ApiObject>('Deployment', r.previous!);
    if (!prev) throw new KilnError('NOTHING_TO_ROLL_BACK', `the kept group ${r.previous} of ${r.cluster} is gone`);
    const replicas = Number(prev.metadata.annotations?.['kiln.io/replicas'] ?? prev.spec.replicas) || 1;
    if (prev.spec.replicas === 0) await scaleGroup(k, r.previous!, replicas);
    waits.push({ group: r.previous!, replicas });
  }
  await waitGroupsReady(k, waits, 120_000);
  // The records first, as in a deploy (converge.ts finishes an interrupted switch).
  for (const r of records) {
    await updateRecord(k.client, { project: k.spec.project, env: k.env, cluster: r.cluster }, (x) => ({ ...x, active: r.previous, previous: r.active }));
  }
  const served: typeof records = [];
  for (const r of records) if (await k.client.get('Service', r.cluster)) served.push(r);
  const lb = serviceLoadBalancer(k);
  const routed = await lb.route(served.map((r) => ({ cluster: r.cluster, group: r.previous })));
  if (!routed.ok) throw new KilnError('DEPLOY_FAILED', `rollback of ${k.env}: ${lb.name} did not switch (${routed.detail})`, { hint: lb.troubleshoot });
  for (const r of records) {
    if (!served.includes(r)) await scaleGroup(k, r.active!, 0); // a worker: the group rolled back from stops
    moved.push({ cluster: r.cluster, from: r.active!, to: r.previous! });
  }
  await recycleKept(k, served.map((r) => r.active));
  return moved;
}

/** After a switch settles, the groups the Services left get new pods (groups.ts recyclePods: why). */
async function recycleKept(k: KubeEnv, groups: Array<string | null>): Promise<void> {
  const kept = groups.filter((g): g is string => !!g);
  if (!kept.length) return;
  await new Promise((r) => setTimeout(r, SWITCH_SETTLE_MS));
  for (const g of kept) {
    const n = await recyclePods(k, g);
    if (n) k.progress(`${g}: its ${n} pod(s) replaced by new ones, so connections opened before the switch move to the new group`);
  }
}

/** Pods of live groups whose container restarted: deleted, so their Deployment makes new ones. */
export async function replaceRestartedPods(k: KubeEnv): Promise<string[]> {
  const pods = await k.client.list<PodView>('Pod', { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env });
  const replaced: string[] = [];
  for (const p of pods) {
    const v = podVerdict(p);
    if (v.state === 'failed' && v.restarted) {
      await k.client.delete('Pod', p.metadata.name);
      replaced.push(p.metadata.name);
    }
  }
  return replaced;
}
