import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamCursors } from './pod-cursors.js';
import { tags, texts, withLogs } from './testkit.js';

test('a stream cursor is saved with its lines and read back by a new store: the resume point survives a restart', () =>
  withLogs((t) => {
    const a = new StreamCursors(t.open());
    assert.equal(a.cursor('k8s:ns/web-1'), null);
    // Larger than a double holds exactly: ns since the epoch.
    a.append('k8s:ns/web-1', tags('web-1'), ['one', 'two'], { ts: 1_796_300_000_123_456_789n, n: 2 });
    const b = new StreamCursors(t.open());
    assert.deepEqual(b.cursor('k8s:ns/web-1'), { ts: 1_796_300_000_123_456_789n, n: 2 });
    assert.deepEqual(texts(t.open(), 'web-1'), ['one', 'two']);
  }));

test('forget drops cursors of sources gone under its prefix only', () =>
  withLogs((t) => {
    const c = new StreamCursors(t.open());
    for (const s of ['k8s:ns/a', 'k8s:ns/b', 'k8s:other/a']) c.append(s, tags('x'), ['l'], { ts: 1n, n: 1 });
    c.forget('k8s:ns/', new Set(['k8s:ns/b']));
    assert.deepEqual(['k8s:ns/a', 'k8s:ns/b', 'k8s:other/a'].map((s) => c.cursor(s) !== null), [false, true, true]);
  }));
