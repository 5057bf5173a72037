import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKubeTimestamp, ResumeFilter, sinceTimeOf, TimestampedLineSplitter, type TimestampedLine } from './pod-log-lines.js';

const S = 1_000_000_000n;
const T0 = BigInt(Date.parse('2026-12-03T12:00:00Z') / 1000) * S;

test('RFC3339Nano timestamps of the pod log API become ns since the epoch, trailing zeros and offsets included', () => {
  assert.equal(parseKubeTimestamp('2026-12-03T12:00:00.123456789Z'), T0 + 123_456_789n);
  // Go's RFC3339Nano drops trailing zeros: .5 is 500 ms, so strings would compare wrongly.
  assert.equal(parseKubeTimestamp('2026-12-03T12:00:00.5Z'), T0 + 500_000_000n);
  assert.equal(parseKubeTimestamp('2026-12-03T12:00:00Z'), T0);
  assert.equal(parseKubeTimestamp('2026-12-03T13:00:00.000000001+01:00'), T0 + 1n);
  assert.equal(parseKubeTimestamp('yesterday'), null);
  assert.equal(parseKubeTimestamp('2026-12-03T12:00:00.1234567890Z'), null);
});

test('sinceTime is the cursor\'s whole second, never after it', () => {
  assert.equal(sinceTimeOf({ ts: T0 + 999_999_999n, n: 1 }), '2026-12-03T12:00:00Z');
  assert.equal(sinceTimeOf({ ts: T0, n: 1 }), '2026-12-03T12:00:00Z');
});

test('the splitter cuts at newlines across chunks, keeps UTF-8 cut by a chunk whole, and parses each timestamp off', () => {
  const s = new TimestampedLineSplitter();
  const all = Buffer.from('2026-12-03T12:00:00.1Z version 1 on 8080\n2026-12-03T12:00:00.2Z grüße  two spaces\n2026-12-03T12:00:01Z tail');
  const cut = all.indexOf(Buffer.from('ü')) + 1; // inside the two bytes of ü
  const out = [...s.push(all.subarray(0, 10)), ...s.push(all.subarray(10, cut)), ...s.push(all.subarray(cut)), ...s.end()];
  assert.deepEqual(out, [
    { ts: T0 + 100_000_000n, text: 'version 1 on 8080' },
    { ts: T0 + 200_000_000n, text: 'grüße  two spaces' },
    { ts: T0 + S, text: 'tail' },
  ]);
  assert.deepEqual(s.end(), []);
});

test('a line without a timestamp keeps the whole text and the previous timestamp', () => {
  const s = new TimestampedLineSplitter();
  assert.deepEqual(s.push(Buffer.from('2026-12-03T12:00:00Z a\nno stamp here\n\n')), [
    { ts: T0, text: 'a' },
    { ts: T0, text: 'no stamp here' },
    { ts: T0, text: '' },
  ]);
});

const line = (ts: bigint, text: string): TimestampedLine => ({ ts, text });

test('resume: with no cursor every line is new, and the cursor counts lines sharing a timestamp', () => {
  const f = new ResumeFilter(null);
  assert.deepEqual([line(T0, 'a'), line(T0, 'b'), line(T0 + 1n, 'c')].filter((l) => f.admit(l)).map((l) => l.text), ['a', 'b', 'c']);
  assert.deepEqual(f.cursor, { ts: T0 + 1n, n: 1 });
});

test('resume: lines before the cursor and the n at its timestamp are skipped, each later one stored once', () => {
  // The answer to sinceTime starts up to a second early; the store had a, b and c (two at T0+5).
  const replay = [line(T0, 'a'), line(T0 + 5n, 'b'), line(T0 + 5n, 'c'), line(T0 + 5n, 'd'), line(T0 + 9n, 'e')];
  const f = new ResumeFilter({ ts: T0 + 5n, n: 2 });
  assert.deepEqual(replay.filter((l) => f.admit(l)).map((l) => l.text), ['d', 'e']);
  assert.deepEqual(f.cursor, { ts: T0 + 9n, n: 1 });
});

test('resume: cutting a stream anywhere and resuming from the saved cursor stores every line exactly once', () => {
  const lines = [0n, 0n, 1n, 1n, 1n, 2n, 3n, 3n].map((d, i) => line(T0 + d, `l${i}`));
  for (let cut = 0; cut <= lines.length; cut++) {
    const first = new ResumeFilter(null);
    const stored = lines.slice(0, cut).filter((l) => first.admit(l)).map((l) => l.text);
    const again = new ResumeFilter(first.cursor);
    stored.push(...lines.filter((l) => again.admit(l)).map((l) => l.text));
    assert.deepEqual(stored, lines.map((l) => l.text), `cut after ${cut} lines`);
  }
});
