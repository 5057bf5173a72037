// The committed files derived from the schemas (kiln.yaml's, and the API contract's). Regenerate after changing schema.ts:
//   npx tsc -p tsconfig.json && node dist/src/spec/generate.js
// (generate.test.ts fails while they are out of date.)
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateJsonSchema } from './jsonschema.js';
import { generateReferenceMarkdown } from './reference.js';
import { generateApiReference, generateApiSchema } from '../server/contract-schema.js';

export const JSON_SCHEMA_PATH = 'schema/kiln.schema.json';
export const REFERENCE_PATH = 'docs/kiln-yaml.md';
export const API_SCHEMA_PATH = 'schema/api.schema.json';
export const API_REFERENCE_PATH = 'docs/api.md';

/** Repository-relative path -> content of every generated file. */
export function generatedSpecFiles(): Record<string, string> {
  return {
    [JSON_SCHEMA_PATH]: JSON.stringify(generateJsonSchema(), null, 2) + '\n',
    [REFERENCE_PATH]: generateReferenceMarkdown(),
    [API_SCHEMA_PATH]: JSON.stringify(generateApiSchema(), null, 2) + '\n',
    [API_REFERENCE_PATH]: generateApiReference(),
  };
}

/** Writes the generated files under `repoRoot` (atomically: temp file, fsync, rename). */
export function writeGeneratedSpecFiles(repoRoot: string): string[] {
  const written: string[] = [];
  for (const [rel, content] of Object.entries(generatedSpecFiles())) {
    const target = path.join(repoRoot, rel);
    const dir = path.dirname(target);
    mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.tmp`);
    writeFileSync(tmp, content);
    const fd = openSync(tmp, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
    written.push(target);
  }
  return written;
}

/** The repository root, found from this compiled file (dist/src/spec/generate.js). */
export function repoRootFromHere(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of writeGeneratedSpecFiles(repoRootFromHere())) console.log(`wrote ${f}`);
}
