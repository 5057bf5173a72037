// schema/api.schema.json and docs/api.md, generated from the API contract (contract.ts) by the
// same code that writes kiln.yaml's schema (spec/jsonschema.ts), so the API's documentation
// cannot drift from what the control plane checks and answers.
import { JSON_SCHEMA_DIALECT, nodeSchema } from '../spec/jsonschema.js';
import { apiCalls } from './contract.js';

type Json = Record<string, unknown>;

export function generateApiSchema(): Json {
  const defs: Json = {};
  for (const [name, c] of Object.entries(apiCalls)) {
    defs[name] = {
      description: `${c.method} ${c.path}: ${c.summary}`,
      'x-kiln-method': c.method,
      'x-kiln-path': c.path,
      'x-kiln-answer': c.answer,
      type: 'object',
      properties: {
        ...(c.query ? { query: nodeSchema(c.query) } : {}),
        ...(c.body ? { body: nodeSchema(c.body) } : {}),
        response: nodeSchema(c.response),
      },
    };
  }
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: 'Kiln control-plane API',
    description:
      'Every call of the control plane (kiln server): its query or JSON body and its answer. Every call needs the token ' +
      '(Authorization: Bearer <.kiln/run/token>) or a dashboard session. Errors are {"error": {code, message, location?, hint?}}. Reference: docs/api.md.',
    $defs: defs,
  };
}

export function generateApiReference(): string {
  const out = [
    '# Control-plane API reference',
    '',
    '<!-- Generated from src/server/contract.ts by writeGeneratedSpecFiles (src/spec/generate.ts); do not edit. -->',
    '',
    'The control plane (`kiln server`) answers on `.kiln/run/kiln.sock` and, with `--listen`, on loopback TCP,',
    'where it also serves the dashboard (docs/dashboard.md). Every call needs `Authorization: Bearer <.kiln/run/token>`',
    'or a dashboard session cookie (then a POST also needs the session\'s `X-Kiln-CSRF` header and a same-origin `Origin`).',
    'Requests and answers are in `schema/api.schema.json`; a request with a wrong or unknown key is a `USAGE` error',
    'naming it. Answers: `json` one value; `ndjson` progress lines `{"type":"event",…}` then `{"type":"result"}` or',
    '`{"type":"error"}`; `sse` Server-Sent Events, resumed after the `Last-Event-ID` a reconnecting client sends.',
    '',
    '| call | method and path | answer | what it does |',
    '|---|---|---|---|',
  ];
  for (const [name, c] of Object.entries(apiCalls)) out.push(`| \`${name}\` | \`${c.method} ${c.path}\` | ${c.answer} | ${c.summary.replaceAll('|', '\\|')} |`);
  return out.join('\n') + '\n';
}
