// Reading pods the way Kiln judges servers: ready, still starting, or failed. A new group's pod
// whose container restarted even once has failed (servers are replaced, never restarted in
// place), as has one the kubelet cannot start (image, config) or one past its deadline.
import type { ApiObject } from './client.js';

export interface PodView extends ApiObject {
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{
      restartCount: number;
      ready: boolean;
      state?: { running?: { startedAt?: string }; waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
    }>;
  };
}

const CANNOT_START = new Set([
  'ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName',
  'CreateContainerConfigError', 'CreateContainerError', 'CrashLoopBackOff', 'RunContainerError',
]);

export type PodVerdict = { state: 'ready' } | { state: 'starting' } | { state: 'failed'; reason: string; restarted: boolean };

export function podVerdict(p: PodView): PodVerdict {
  if (p.metadata.deletionTimestamp) return { state: 'failed', reason: 'being deleted', restarted: false };
  if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') return { state: 'failed', reason: `pod ${p.status.phase.toLowerCase()}`, restarted: false };
  const c = p.status?.containerStatuses?.[0];
  if (c) {
    if (c.restartCount > 0) return { state: 'failed', reason: `its container restarted (${c.restartCount}x)`, restarted: true };
    const t = c.state?.terminated;
    if (t) return { state: 'failed', reason: `its container exited (${t.reason ?? 'exit'} ${t.exitCode ?? ''})`.trim(), restarted: false };
    const w = c.state?.waiting;
    if (w?.reason && CANNOT_START.has(w.reason)) return { state: 'failed', reason: `${w.reason}${w.message ? `: ${w.message}` : ''}`, restarted: false };
  }
  const ready = p.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True') ?? false;
  return ready ? { state: 'ready' } : { state: 'starting' };
}
