import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHelp, escapeLabelValue, formatValue } from './exposition.js';
import { HistogramCell } from './histogram.js';
import { Registry } from './registry.js';

test('label values escape backslash, double quote and line feed; HELP escapes backslash and line feed', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('x\\y "z"\nw'), 'x\\\\y "z"\\nw');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(0.25), '0.25');
});

test('a registry writes HELP and TYPE once per family, samples with escaped labels', () => {
  const r = new Registry();
  const c = r.counter('kiln_things_total', 'Things done.\nSecond line.', ['kind']);
  c.labels('a"b').inc();
  c.labels('a"b').inc(2);
  c.labels('plain').inc();
  const g = r.gauge('kiln_level', 'A level.');
  g.labels().set(-1.5);
  r.counter('kiln_never_total', 'No samples: left out.', ['x']);
  assert.equal(
    r.expose(),
    '# HELP kiln_things_total Things done.\\nSecond line.\n# TYPE kiln_things_total counter\n' +
      'kiln_things_total{kind="a\\"b"} 3\nkiln_things_total{kind="plain"} 1\n' +
      '# HELP kiln_level A level.\n# TYPE kiln_level gauge\nkiln_level -1.5\n',
  );
});

test('histogram buckets are cumulative and end with +Inf, then _sum and _count', () => {
  const h = new HistogramCell([0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
  assert.equal(
    h.write('kiln_x_seconds', ['cluster'], ['web']),
    'kiln_x_seconds_bucket{cluster="web",le="0.1"} 2\n' +
      'kiln_x_seconds_bucket{cluster="web",le="1"} 3\n' +
      'kiln_x_seconds_bucket{cluster="web",le="+Inf"} 4\n' +
      'kiln_x_seconds_sum{cluster="web"} 3.65\n' +
      'kiln_x_seconds_count{cluster="web"} 4\n',
  );
});

test('names that break the format are refused when registered', () => {
  const r = new Registry();
  assert.throws(() => r.counter('kiln_requests', 'no _total'), /must end in _total/);
  assert.throws(() => r.gauge('kiln_open_total', 'gauge with _total'), /must not end in _total/);
  assert.throws(() => r.gauge('kiln-bad', 'dash'), /invalid metric name/);
  assert.throws(() => r.histogram('kiln_h_seconds', 'le label', ['le'], [1]), /"le"/);
  assert.throws(() => r.gauge('kiln_g', 'reserved label', ['__x']), /invalid label name/);
  assert.throws(() => r.histogram('kiln_h2_seconds', 'bad bounds', [], [1, 1]), /increasing/);
  r.gauge('kiln_once', 'x');
  assert.throws(() => r.gauge('kiln_once', 'x'), /registered twice/);
});

test('a child is the same object on every lookup, so a hot path can keep it', () => {
  const r = new Registry();
  const c = r.counter('kiln_a_total', 'a', ['x', 'y']);
  assert.equal(c.labels('1', '2'), c.labels('1', '2'));
  assert.notEqual(c.labels('1', '2'), c.labels('12', ''));
  assert.throws(() => c.labels('1'), /expected 2 label values/);
});
