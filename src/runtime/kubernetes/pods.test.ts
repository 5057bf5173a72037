import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podVerdict, type PodView } from './pods.js';

const pod = (status: PodView['status'], extra: Partial<PodView['metadata']> = {}): PodView => ({ metadata: { name: 'p', ...extra }, status });
const ready = [{ type: 'Ready', status: 'True' }];

test('a pod is ready only with the Ready condition and no restart; any restart fails a new group\'s pod', () => {
  assert.deepEqual(podVerdict(pod({ phase: 'Running', conditions: ready, containerStatuses: [{ restartCount: 0, ready: true, state: {} }] })), { state: 'ready' });
  assert.deepEqual(podVerdict(pod({ phase: 'Pending' })), { state: 'starting' });
  assert.deepEqual(podVerdict(pod({ phase: 'Running', conditions: ready, containerStatuses: [{ restartCount: 1, ready: true, state: {} }] })), {
    state: 'failed',
    reason: 'its container restarted (1x)',
    restarted: true,
  });
});

test('the kubelet cannot start it (image, config, back-off), it exited, or it is being deleted: failed, with the reason', () => {
  const waiting = (reason: string) => pod({ phase: 'Pending', containerStatuses: [{ restartCount: 0, ready: false, state: { waiting: { reason, message: 'm' } } }] });
  assert.deepEqual(podVerdict(waiting('ErrImageNeverPull')), { state: 'failed', reason: 'ErrImageNeverPull: m', restarted: false });
  assert.deepEqual(podVerdict(waiting('ContainerCreating')), { state: 'starting' });
  const exited = pod({ phase: 'Running', containerStatuses: [{ restartCount: 0, ready: false, state: { terminated: { reason: 'Error', exitCode: 3 } } }] });
  assert.deepEqual(podVerdict(exited), { state: 'failed', reason: 'its container exited (Error 3)', restarted: false });
  assert.equal(podVerdict(pod({ phase: 'Running', conditions: ready }, { deletionTimestamp: '2026-12-03T00:00:00Z' })).state, 'failed');
});
