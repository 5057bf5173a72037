// kiln.yaml loader under hostile input: 10,000+ inputs (random edits of the example, random YAML
// documents; about 1 ms each, most of it the YAML parser). Each must load or throw KilnError (KilnErrors is one) — never another exception,
// never hang — and loading writes nothing. Seeded: KILN_FUZZ_SEED replays a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../errors.js';
import { FUZZ_SEED, mutate, rng, type Rng } from '../util/fuzzkit.js';
import { parseSpec } from './load.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/shop/kiln.yaml');
const TOKENS = [': ', '\n', '  ', '- ', '{', '}', '[', ']', '&a ', '*a', '<<: *a\n', '!!binary ', '!!js/function ', '"', "'", '#', '${', '${data.orders.url}', '${secret.x}', '${cluster.api-http.url}',
  '..', '/', '\0', 'x'.repeat(300), '9'.repeat(40), '-1', '1e999', 'null', '~', 'true', '? ', '|\n', '>\n', '%YAML 1.2\n---\n', '---\n', '...\n', '\t', '\uFEFF', '\uD800', 'replicas: 1000000000\n', 'port: 99999\n'];
const KEYS = ['project', 'domain', 'proxy', 'dns', 'os', 'data', 'services', 'environments', 'app', 'roles', 'flags', 'replicas', 'port', 'health', 'runtime', 'engine', 'changelog', 'path', 'run', 'build', 'debian', 'suite', 'include', 'podman', 'scale', 'x'];

function randomValue(r: Rng, depth: number): unknown {
  const k = depth > 4 ? r.int(4) : r.int(7);
  switch (k) {
    case 0: return r.int(3) ? r.str(r.int(12), 'abcdefghijklmnopqrstuvwxyz0123456789-_./${}: ') : r.int(100000) - 50;
    case 1: return r.pick([true, false, null, 0, -1, 1.5, '', '..', '/etc/passwd', '../../..', 'a\0b']);
    case 2: return r.pick(['http', 'process', 'podman', 'kubernetes', 'sqlite', 'postgres', 'bookworm', '/healthz', '10s']);
    case 3: return r.str(r.int(80), 'ab-');
    case 4: case 5: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.int(4) ? r.pick(KEYS) : r.str(1 + r.int(8), 'abcxyz-_.')] = randomValue(r, depth + 1);
      return o;
    }
    default: return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  }
}

/** Minimal YAML writer: random structure, not random syntax (mutations cover syntax). */
function toYaml(v: unknown, indent = ''): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return v.length ? v.map((x) => `\n${indent}- ${toYaml(x, indent + '  ')}`).join('') : '[]';
  const entries = Object.entries(v);
  return entries.length ? entries.map(([k, x]) => `\n${indent}${JSON.stringify(k)}: ${toYaml(x, indent + '  ')}`).join('') : '{}';
}

test('kiln.yaml loader: 10,000+ mutated and random documents load or fail with KilnError', { timeout: 60_000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-spec-fuzz-'));
  try {
    fs.cpSync(path.dirname(EXAMPLE), dir, { recursive: true, filter: (s) => !s.includes('node_modules') && !s.endsWith('.kiln') });
    const file = path.join(dir, 'kiln.yaml');
    const listing = (): string => JSON.stringify(fs.readdirSync(dir, { recursive: true }).sort());
    const before = listing();
    const example = fs.readFileSync(EXAMPLE, 'utf8');
    const r = rng(FUZZ_SEED);
    const stats = { inputs: 0, loaded: 0, refused: 0 };
    const tryOne = (text: string): void => {
      stats.inputs++;
      try {
        parseSpec(text, file);
        stats.loaded++;
      } catch (e) {
        if (!(e instanceof KilnError)) {
          assert.fail(`seed ${FUZZ_SEED}, input ${stats.inputs}: ${(e as Error).stack}\n--- input\n${text.slice(0, 2000)}`);
        }
        stats.refused++;
      }
    };
    for (let i = 0; i < 4_000; i++) {
      let text = example;
      for (let n = 1 + r.int(r.int(4) === 0 ? 12 : 3); n > 0; n--) text = mutate(r, text, TOKENS);
      tryOne(text);
    }
    for (let i = 0; i < 5_000; i++) tryOne(toYaml(randomValue(r, 0)).trimStart());
    // Structure from random values but the example's top level: deeper into the validator.
    for (let i = 0; i < 1_000; i++) tryOne(example + `\n${r.pick(['services', 'environments', 'data', 'os', 'proxy'])}x: ${toYaml(randomValue(r, 2), '  ')}\n`);
    tryOne(example);
    assert.equal(listing(), before, 'loading wrote nothing');
    t.diagnostic(`seed ${FUZZ_SEED}: ${stats.inputs} inputs, ${stats.loaded} loaded, ${stats.refused} refused with KilnError`);
    assert.ok(stats.inputs >= 10_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
