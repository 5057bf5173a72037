// Rotating a secret (issue 11, defect 13): `kiln secret set` with a new value changes nothing that
// runs; a replacement server of a running group reads the value its group was built with; the
// next deploy (even of the same release) rolls the new value out as a new group. The shop's web
// shows a fingerprint of the token file it was given (never the value), per server.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { setupShop, SHOP_TOKEN, type Shop } from './lib/shop.js';
import { waitFor } from './lib/wait.js';
import type { StatusGroup } from '../../src/server/status.js';

const fingerprint = (v: string): string => 'sha256:' + crypto.createHash('sha256').update(v).digest('hex').slice(0, 12);

/** The token fingerprint one server shows on its own page (straight to its port, not through the proxy). */
function tokenOf(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(/token (sha256:[0-9a-f]+)/.exec(body)?.[1] ?? `no token in: ${body.slice(0, 200)}`));
      })
      .on('error', reject);
  });
}

describe('secret rotation', () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  const webGroup = async (state: string): Promise<StatusGroup> => {
    const c = (await shop.status()).clusters.find((x) => x.name === 'web-http-dev')!;
    return c.groups.find((g) => g.state === state)!;
  };

  test('defect 13: a set secret rolls out as a new group on the next deploy; until then every server of a group reads the same value', { timeout: 5 * 60_000 }, async () => {
    const NEW = 'kiln-secret-rotated-5d2e8c';
    const v1 = await webGroup('active');
    assert.equal(v1.name, 'web-http-dev-v001');
    await shop.p.kiln(['secret', 'set', 'web_token', '--env', 'dev'], { input: NEW });

    // A server of the running group dies: its replacement reads what its siblings read.
    const victim = v1.servers[0]!;
    process.kill(victim.pid!, 'SIGKILL');
    const replaced = await waitFor(
      async () => {
        const g = await webGroup('active');
        return g.servers.length === 2 && g.servers.every((s) => s.state === 'healthy') && !g.servers.some((s) => s.name === victim.name) ? g : null;
      },
      { timeoutMs: 30_000, what: `a replacement for ${victim.name}` },
    );
    assert.equal(replaced.name, 'web-http-dev-v001');
    for (const s of replaced.servers) assert.equal(await tokenOf(s.port!), fingerprint(SHOP_TOKEN), `${s.name} reads its group's value`);

    // The same release again: web changed (its secret did), api did not.
    const r = await shop.p.kiln(['deploy', 'r1', '--env', 'dev']);
    assert.match(r.stdout + r.stderr, /api-http-dev: unchanged/);
    assert.doesNotMatch(r.stdout + r.stderr, /web-http-dev: unchanged/);
    const v2 = await webGroup('active');
    assert.equal(v2.name, 'web-http-dev-v002');
    assert.equal(v2.servers.length, 2);
    for (const s of v2.servers) assert.equal(await tokenOf(s.port!), fingerprint(NEW), `${s.name} reads the new value`);
    assert.match((await shop.get('web-http-dev.shop.test', '/')).body, new RegExp(`token ${fingerprint(NEW)}`));
    // The kept group still reads the old value: a rollback goes back to exactly what ran.
    for (const s of (await webGroup('disabled')).servers) assert.equal(await tokenOf(s.port!), fingerprint(SHOP_TOKEN));
  });
});
