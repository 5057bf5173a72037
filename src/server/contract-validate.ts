// Requests checked against the contract (contract.ts) with the same validator as kiln.yaml: a JSON
// body is YAML too, so a wrong or unknown key is reported at its line:column in the body. Query
// parameters are checked the same way (all text; unknown names refused). Answers are never parsed.
import { LineCounter, parseDocument } from 'yaml';
import { KilnError } from '../errors.js';
import type { Infer, ObjectNode } from '../spec/dsl.js';
import { Problems } from '../spec/problems.js';
import { validateDocument } from '../spec/validate.js';

function check<N extends ObjectNode>(node: N, text: string, where: string): Infer<N> {
  const lines = new LineCounter();
  const doc = parseDocument(text.trim() === '' ? '{}' : text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) throw new KilnError('USAGE', `${where} is not valid JSON: ${doc.errors[0]!.message.split('\n')[0]}`);
  const problems = new Problems(where, lines);
  const value = validateDocument(node, doc, problems);
  if (problems.count) {
    const first = problems.errors[0]!;
    throw new KilnError('USAGE', problems.errors.map((e) => e.message).join('; '), { location: first.location, hint: 'see schema/api.schema.json' });
  }
  return value as Infer<N>;
}

/** A JSON request body, checked: its value, typed by the contract. */
export function checkBody<N extends ObjectNode>(node: N, text: string, route: string): Infer<N> {
  return check(node, text, `the body of ${route}`);
}

/** Query parameters, checked (each given once, all text). */
export function checkQuery<N extends ObjectNode>(node: N, q: URLSearchParams, route: string): Infer<N> {
  const seen: Record<string, string> = {};
  for (const [k, v] of q) {
    if (k in seen) throw new KilnError('USAGE', `the query of ${route} gives "${k}" twice`);
    seen[k] = v;
  }
  return check(node, JSON.stringify(seen), `the query of ${route}`);
}
