// Names and tags under hostile input: 10,000+ strings built from "..", "/", NUL, "\", unicode and
// over-long parts. Every validator rejects what could leave its directory before anything
// touches the disk, and the secret store (the one writer here) writes only under .kiln/secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { setSecret, listSecrets } from '../secrets/secrets.js';
import { tagProblem, validateTag } from '../streams/app/tags.js';
import { FUZZ_SEED, rng, type Rng } from '../util/fuzzkit.js';
import { assertPart, clusterName, partProblem } from './names.js';

const PIECES = ['..', '/', '\0', '\\', '.', '-', '_', 'a', 'web', '1', 'é', '\u202e', ' ', '\n', '%2e%2e', '~', ':', 'A', 'x'.repeat(64), '9'.repeat(130)];

function hostile(r: Rng): string {
  let s = '';
  for (let n = 1 + r.int(6); n > 0; n--) s += r.pick(PIECES);
  return r.int(10) === 0 ? s.repeat(1 + r.int(50)) : s;
}

/** What could take a name out of its directory or past a file-name limit. */
const dangerous = (s: string): boolean => s.includes('..') || s.includes('/') || s.includes('\0') || s.includes('\\') || s === '.' || s.length > 255;

test('names, tags, environments and secret names: 10,000+ hostile strings rejected before the disk', { timeout: 60_000 }, (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-names-fuzz-'));
  const kilnDir = path.join(root, 'project', '.kiln');
  fs.mkdirSync(kilnDir, { recursive: true });
  const r = rng(FUZZ_SEED);
  let inputs = 0;
  let accepted = 0;
  const rejects = (what: string, s: string, fn: () => void): boolean => {
    try {
      fn();
      return false;
    } catch (e) {
      if (!(e instanceof KilnError)) assert.fail(`seed ${FUZZ_SEED}: ${what}(${JSON.stringify(s)}) threw ${(e as Error).stack}`);
      return true;
    }
  };
  try {
    for (let i = 0; i < 10_000; i++) {
      const s = hostile(r);
      inputs++;
      const bad = dangerous(s);
      // Name parts (service, role, environment, project): DNS labels only.
      const partOk = partProblem(s) === null;
      assert.equal(rejects('assertPart', s, () => assertPart('environment', s)), !partOk);
      if (partOk) assert.ok(!bad && /^[a-z0-9-]{1,63}$/.test(s), `part ${JSON.stringify(s)} accepted`);
      if (!partOk) assert.ok(rejects('clusterName', s, () => clusterName('web', 'http', s)));
      // Tags (app, os, data streams).
      const tagOk = tagProblem(s) === null;
      assert.equal(rejects('validateTag', s, () => validateTag('app/web', s)), !tagOk);
      if (tagOk) assert.ok(!bad, `tag ${JSON.stringify(s)} accepted`);
      // Secrets: hostile names and hostile environments, written to the real store.
      const env = r.int(2) ? s : 'dev';
      const name = env === s ? 'token' : s;
      const wrote = !rejects('setSecret', s, () => setSecret(kilnDir, env, name, Buffer.from('v')));
      rejects('listSecrets', s, () => listSecrets(kilnDir, env));
      if (wrote) {
        accepted++;
        assert.ok(!dangerous(env) && !dangerous(name), `secret ${JSON.stringify(env)}/${JSON.stringify(name)} written`);
      }
    }
    // Nothing but .kiln/secrets/<env>/<name> files, all inside the project.
    const all = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).map((p) => path.join(root, p));
    for (const p of all) {
      assert.ok(p === path.join(root, 'project') || p.startsWith(kilnDir), `written outside .kiln: ${p}`);
      if (fs.statSync(p).isFile()) assert.equal(path.relative(kilnDir, p).split(path.sep).length, 3, `unexpected file ${p}`);
    }
    t.diagnostic(`seed ${FUZZ_SEED}: ${inputs} strings × (part, cluster name, tag, secret env/name); ${accepted} harmless secret names written`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
