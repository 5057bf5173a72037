import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import { kubeconfigPath, loadKubeconfig } from './kubeconfig.js';

function write(t: { after: (fn: () => void) => void }, text: string, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-kubeconfig-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  fs.writeFileSync(path.join(dir, 'config'), text);
  return path.join(dir, 'config');
}

const CONFIG = [
  'clusters:',
  '- { name: a, cluster: { server: "https://10.0.0.1:6443/", certificate-authority: ca.crt } }',
  '- { name: b, cluster: { server: "https://b:6443", certificate-authority-data: "Q0E=" } }',
  'users:',
  '- { name: cert, user: { client-certificate: c.crt, client-key-data: "S0VZ" } }',
  '- { name: tok, user: { token: abc } }',
  '- { name: plugin, user: { exec: { command: aws } } }',
  'contexts:',
  '- { name: one, context: { cluster: a, user: cert } }',
  '- { name: two, context: { cluster: b, user: tok } }',
  '- { name: three, context: { cluster: b, user: plugin } }',
  'current-context: one',
].join('\n');

test('files relative to the kubeconfig and inline data; the current context unless one is named', (t) => {
  const file = write(t, CONFIG, { 'ca.crt': 'CA', 'c.crt': 'CERT' });
  const one = loadKubeconfig(file);
  assert.equal(one.server, 'https://10.0.0.1:6443');
  assert.equal(one.ca?.toString(), 'CA');
  assert.equal(one.cert?.toString(), 'CERT');
  assert.equal(one.key?.toString(), 'KEY');
  const two = loadKubeconfig(file, 'two');
  assert.equal(two.token, 'abc');
  assert.equal(two.ca?.toString(), 'CA');
});

test('a missing context, an exec plugin, a missing file: clear errors naming the kubeconfig', (t) => {
  const file = write(t, CONFIG, { 'ca.crt': 'CA', 'c.crt': 'CERT' });
  const fails = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof KilnError && e.code === 'INPUT_INVALID' && re.test(e.message) && e.location?.file !== undefined);
  fails(() => loadKubeconfig(file, 'nope'), /has no context "nope"/);
  fails(() => loadKubeconfig(file, 'three'), /exec plugin or auth provider/);
  fails(() => loadKubeconfig(path.join(path.dirname(file), 'absent')), /does not exist/);
  assert.equal(kubeconfigPath(undefined, { KUBECONFIG: `/x/a${path.delimiter}/x/b` }), '/x/a');
  assert.equal(kubeconfigPath('/given', { KUBECONFIG: '/x/a' }), '/given');
});
