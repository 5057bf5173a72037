// With --json every command reports a failure the same way: one JSON object {"error": {...}} on
// stdout for the program reading it, the human message on stderr for the person watching, and
// the usual exit code (1 the operation failed, 2 the command line was wrong).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeReleasedProject, type RunResult, type TestProject } from './lib/project.js';
import type { CliErrorBody } from '../../src/cli/error-output.js';

/** stdout is exactly one JSON line holding the error; stderr has the same message for a person. */
function jsonError(r: RunResult): CliErrorBody {
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line on stdout, got: ${r.stdout}`);
  const parsed = JSON.parse(lines[0]!) as { error: CliErrorBody };
  assert.equal(typeof parsed.error.code, 'string');
  assert.ok(parsed.error.message.length > 0);
  assert.match(r.stderr, /^kiln: /m);
  assert.ok(r.stderr.includes(parsed.error.message), `stderr shows the message: ${r.stderr}`);
  return parsed.error;
}

describe('errors with --json', () => {
  let p: TestProject;
  before(async () => {
    p = await makeReleasedProject();
    await p.startServer();
  });
  after(async () => {
    await p?.cleanup();
  });

  test('deploy of an unknown release: exit 1, the error as JSON on stdout and as text on stderr', async () => {
    const r = await p.kiln(['deploy', 'r99', '--env', 'dev', '--json'], { allowFail: true });
    assert.equal(r.code, 1);
    const e = jsonError(r);
    assert.match(e.message, /r99/);
    assert.match(`${e.message} ${e.hint ?? ''}`, /r1/, 'names the releases that exist');
    // Without --json: the same text on stderr, nothing on stdout.
    const plain = await p.kiln(['deploy', 'r99', '--env', 'dev'], { allowFail: true });
    assert.equal(plain.code, 1);
    assert.equal(plain.stdout, '');
    assert.match(plain.stderr, /r99/);
  });

  test('status of an environment that does not exist: exit 1, JSON and text', async () => {
    const r = await p.kiln(['status', '--env', 'nope', '--json'], { allowFail: true });
    assert.equal(r.code, 1);
    const e = jsonError(r);
    assert.match(e.message, /nope/);
  });

  test('app tag of an existing tag with other content: exit 1, JSON names the tag, text names both digests', async () => {
    const appFile = path.join(p.dir, 'apps', 'api', 'server.js');
    const original = fs.readFileSync(appFile, 'utf8');
    try {
      fs.writeFileSync(appFile, original + '\n// changed\n');
      const r = await p.kiln(['app', 'tag', 'api', '1.0.0', '--json'], { allowFail: true });
      assert.equal(r.code, 1);
      const e = jsonError(r);
      assert.match(e.message, /app\/api:1\.0\.0/);
      assert.match(r.stderr, /immutable/);
    } finally {
      fs.writeFileSync(appFile, original);
    }
  });

  test('a wrong command line: exit 2, code USAGE, the flag or argument named', async () => {
    const missing = await p.kiln(['deploy', '--json'], { allowFail: true });
    assert.equal(missing.code, 2);
    assert.equal(jsonError(missing).code, 'USAGE');
    const unknownFlag = await p.kiln(['status', '--json', '--bogus'], { allowFail: true });
    assert.equal(unknownFlag.code, 2);
    assert.match(jsonError(unknownFlag).message, /bogus/);
  });
});
