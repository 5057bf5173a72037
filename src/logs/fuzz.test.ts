// The log line splitter under hostile bytes: 10,000 random inputs (binary, invalid UTF-8, NUL,
// CR/LF runs, lines far past the limit) cut into random chunks. No exception; every stored piece
// is bounded; pieces join back to the line; one line per newline. The 10 MB line and the
// tailer's end-to-end handling of binary files are in tailer.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FUZZ_SEED, rng, type Rng } from '../util/fuzzkit.js';
import { CONTINUED, LineSplitter } from './lines.js';

function input(r: Rng): Buffer {
  const parts: Buffer[] = [];
  for (let n = 1 + r.int(8); n > 0; n--) {
    switch (r.int(6)) {
      case 0: parts.push(r.bytes(r.int(300))); break;
      case 1: parts.push(Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80].slice(0, 1 + r.int(11)))); break;
      case 2: parts.push(Buffer.from(r.pick(['\n', '\r\n', '\r', '\n\n\n', '\0', 'é', '😀', '\u202e']))); break;
      case 3: parts.push(Buffer.from('😀é'.repeat(r.int(100)))); break;
      case 4: parts.push(Buffer.alloc(r.int(3000), r.pick(['a', '\0', '\xff']))); break;
      default: parts.push(Buffer.from(`line ${r.int(1000)} ok`)); break;
    }
  }
  return Buffer.concat(parts);
}

test('log line splitter: 10,000 hostile inputs in random chunks: bounded pieces, one line per newline', { timeout: 60_000 }, (t) => {
  const r = rng(FUZZ_SEED);
  let bytes = 0;
  for (let i = 0; i < 10_000; i++) {
    const max = 4 + r.int(512);
    const data = input(r);
    bytes += data.length;
    const split = new LineSplitter(max);
    const out: string[] = [];
    for (let at = 0; at < data.length; ) {
      const n = 1 + r.int(r.int(4) === 0 ? 4096 : 64);
      split.push(data.subarray(at, at + n), out);
      at += n;
    }
    split.flush(out);
    const newlines = data.filter((b) => b === 10).length;
    const complete = out.filter((l) => !l.endsWith(CONTINUED)).length;
    const endsOpen = data.length > 0 && data[data.length - 1] !== 10;
    assert.equal(complete, newlines + (endsOpen ? 1 : 0), `seed ${FUZZ_SEED}, input ${i}: lines`);
    for (const l of out) {
      const body = l.endsWith(CONTINUED) ? l.slice(0, -CONTINUED.length) : l;
      // A U+FFFD stands for up to 3 invalid bytes but is 3 bytes itself: allow that much slack.
      assert.ok(Buffer.byteLength(body) <= max * 3, `seed ${FUZZ_SEED}, input ${i}: piece of ${Buffer.byteLength(body)} bytes, limit ${max}`);
      assert.ok(!body.includes('\0') && !body.includes('\n'), 'no NUL, no newline inside a line');
    }
    // Valid ASCII without NUL or CR: the pieces join back to exactly the input's lines.
    if (data.every((b) => b > 0 && b < 128 && b !== 13)) {
      const joined = out.map((l) => (l.endsWith(CONTINUED) ? l.slice(0, -CONTINUED.length) : l + '\n')).join('');
      assert.equal(joined, data.toString('latin1') + (endsOpen ? '\n' : ''));
    }
  }
  t.diagnostic(`seed ${FUZZ_SEED}: 10000 inputs, ${(bytes / 1e6).toFixed(1)} MB`);
});
