// One writer per Kubernetes environment at a time. Deploy, rollback, down and the convergence
// that repairs what an interrupted one left all change the same objects, and convergence deletes
// groups and Secrets no record names — which is exactly what a deploy in progress has just made.
// So each holds a Lease (coordination.k8s.io, the object Kubernetes' own controllers elect a
// leader with), renewed while it works. A holder that died is recognised two ways: on this host
// by its pid and start time (a `kill -9` is taken over at once), elsewhere by a renewal older
// than the lease's duration.
import os from 'node:os';
import { KilnError } from '../../errors.js';
import { processStartTime } from '../process/proc.js';
import type { ApiObject } from './client.js';
import type { KubeEnv } from './environment.js';
import { K8S_LABEL } from './manifests.js';

const DURATION_S = 15;
const RENEW_MS = 5_000;

interface Lease extends ApiObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

export interface HeldLease {
  /** Stops renewing and deletes the Lease if it is still this process's. */
  release(): Promise<void>;
}

export const leaseName = (project: string, env: string): string => `kiln-${project}-${env}-writer`;

/** `<host>/<pid>/<start time>`: enough to tell, on the same host, that the holder is gone. */
export function holderIdentity(pid = process.pid): string {
  return `${os.hostname()}/${pid}/${processStartTime(pid) ?? '?'}`;
}

/** Whether a holder is a process of this host that no longer runs (or is another process now). */
export function holderIsGoneHere(holder: string, host = os.hostname()): boolean {
  const [h, pid, start] = holder.split('/');
  if (h !== host || !pid || !start) return false;
  const now = processStartTime(Number(pid));
  return now === null || now !== start;
}

/** Kubernetes' MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

function leaseBody(k: KubeEnv, holder: string, acquiredMs: number, resourceVersion?: string): Lease & { kind: string } {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: leaseName(k.spec.project, k.env),
      namespace: k.settings.namespace,
      labels: { [K8S_LABEL.managedBy]: 'kiln', [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    spec: { holderIdentity: holder, leaseDurationSeconds: DURATION_S, acquireTime: microTime(acquiredMs), renewTime: microTime(Date.now()) },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the environment's Lease, waiting up to `waitMs` for a live holder to finish. Throws
 * DEPLOY_IN_PROGRESS naming the holder when it does not.
 */
export async function acquireLease(k: KubeEnv, what: string, waitMs = 60_000): Promise<HeldLease> {
  const name = leaseName(k.spec.project, k.env);
  const me = holderIdentity();
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const cur = await k.client.get<Lease>('Lease', name);
    const holder = cur?.spec?.holderIdentity ?? '';
    const renewed = Date.parse(cur?.spec?.renewTime ?? '') || 0;
    const expired = renewed + (cur?.spec?.leaseDurationSeconds ?? DURATION_S) * 1000 < Date.now();
    const taken = !cur
      ? await k.client.create(leaseBody(k, me, Date.now()))
      : !holder || expired || holderIsGoneHere(holder)
        ? await k.client.replace(leaseBody(k, me, Date.now(), cur.metadata.resourceVersion))
        : false;
    if (taken) return hold(k, name, me);
    if (Date.now() > deadline) {
      throw new KilnError('DEPLOY_IN_PROGRESS', `another Kiln (${holder}) is changing ${k.env} on Kubernetes; ${what} waited ${Math.round(waitMs / 1000)} s for it`, {
        hint: `wait for it to finish, or, if it died on another host, for its lease ${name} in namespace ${k.settings.namespace} to expire (${DURATION_S} s after its last renewal)`,
      });
    }
    if (!told && holder) k.progress(`waiting for ${holder}, which is changing ${k.env}`);
    told = true;
    await sleep(1_000);
  }
}

function hold(k: KubeEnv, name: string, me: string): HeldLease {
  const acquired = Date.now();
  const timer = setInterval(() => {
    void (async () => {
      const cur = await k.client.get<Lease>('Lease', name);
      if (cur?.spec?.holderIdentity !== me) return; // taken over: the next write's checks fail it
      await k.client.replace(leaseBody(k, me, acquired, cur.metadata.resourceVersion));
    })().catch(() => undefined); // a missed renewal is retried in 5 s; the lease lasts 15
  }, RENEW_MS);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      const cur = await k.client.get<Lease>('Lease', name);
      if (cur?.spec?.holderIdentity === me) await k.client.delete('Lease', name);
    },
  };
}

/** `fn` with the environment's Lease held, released however `fn` ends. */
export async function withLease<T>(k: KubeEnv, what: string, fn: () => Promise<T>): Promise<T> {
  const lease = await acquireLease(k, what);
  try {
    return await fn();
  } finally {
    await lease.release().catch(() => undefined); // it expires on its own
  }
}
