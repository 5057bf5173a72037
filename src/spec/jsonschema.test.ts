// No JSON Schema validator is installed, so this checks the generated schema against the
// documented example with a small evaluator of exactly the keywords the generator emits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { generateJsonSchema } from './jsonschema.js';
import { EXAMPLE_SPEC } from './reference.js';

type S = Record<string, unknown>;
const KNOWN = new Set([
  '$schema', 'title', 'description', 'default', 'examples', 'type', 'properties', 'required', 'additionalProperties',
  'propertyNames', 'minProperties', 'items', 'minItems', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'oneOf',
]);

function typeMatches(t: string, v: unknown): boolean {
  if (t === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  if (t === 'array') return Array.isArray(v);
  if (t === 'integer') return Number.isInteger(v);
  return typeof v === t;
}

/** Paths where `v` fails `s`; empty when valid. */
function errors(s: S, v: unknown, at = '$'): string[] {
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`evaluator does not know keyword ${k}`);
  const out: string[] = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(t, v))) return [`${at}: type`];
  }
  if (s.enum && !(s.enum as unknown[]).includes(v)) out.push(`${at}: enum`);
  if (typeof v === 'string') {
    if (s.pattern && !new RegExp(s.pattern as string, 'u').test(v)) out.push(`${at}: pattern`);
    if (typeof s.minLength === 'number' && v.length < s.minLength) out.push(`${at}: minLength`);
    if (typeof s.maxLength === 'number' && v.length > s.maxLength) out.push(`${at}: maxLength`);
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${at}: minimum`);
    if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${at}: maximum`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(`${at}: minItems`);
    if (s.items) v.forEach((x, i) => out.push(...errors(s.items as S, x, `${at}[${i}]`)));
  }
  if (typeMatches('object', v)) {
    const o = v as S;
    const props = (s.properties ?? {}) as Record<string, S>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) out.push(`${at}.${r}: required`);
    if (typeof s.minProperties === 'number' && Object.keys(o).length < s.minProperties) out.push(`${at}: minProperties`);
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames) out.push(...errors(s.propertyNames as S, k, `${at}.${k} (name)`));
      const p = props[k];
      if (p) out.push(...errors(p, x, `${at}.${k}`));
      else if (s.additionalProperties === false) out.push(`${at}.${k}: additionalProperties`);
      else if (typeof s.additionalProperties === 'object') out.push(...errors(s.additionalProperties as S, x, `${at}.${k}`));
    }
  }
  if (s.oneOf) {
    const passing = (s.oneOf as S[]).filter((alt) => errors(alt, v, at).length === 0).length;
    if (passing !== 1) out.push(`${at}: oneOf matched ${passing}`);
  }
  return out;
}

test('the generated JSON Schema accepts the documented example', () => {
  assert.deepEqual(errors(generateJsonSchema(), parse(EXAMPLE_SPEC)), []);
});

test('the generated JSON Schema rejects unknown keys, bad names, bad durations and bad enums', () => {
  const schema = generateJsonSchema();
  const example = (): S => parse(EXAMPLE_SPEC) as S;
  const svc = (spec: S) => (spec.services as Record<string, S>).api as S;
  const http = (spec: S) => (svc(spec).roles as Record<string, S>).http as S;

  let spec = example();
  http(spec).replica = 2;
  assert.deepEqual(errors(schema, spec), ['$.services.api.roles.http.replica: additionalProperties']);

  spec = example();
  (spec.services as S).Web = svc(spec);
  assert.deepEqual(errors(schema, spec), ['$.services.Web (name): pattern']);

  spec = example();
  (http(spec).health as S).interval = '5';
  assert.deepEqual(errors(schema, spec), ['$.services.api.roles.http.health: oneOf matched 0']);

  spec = example();
  ((spec.environments as S).dev as S).runtime = 'docker';
  assert.deepEqual(errors(schema, spec), ['$.environments.dev.runtime: enum']);

  spec = example();
  delete (svc(spec).app as S).run;
  assert.deepEqual(errors(schema, spec), ['$.services.api.app.run: required']);
});
