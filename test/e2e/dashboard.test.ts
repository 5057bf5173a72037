// The dashboard in a real browser (Debian's chromium, driven by playwright-core): the example shop
// with r1 serving dev and r2 released, `kiln server --listen` on loopback. A user logs in with the
// token, sees the environments, deploys r2 from the page while requests flow (none fails) and sees
// the active group change on a page left open, rolls back, reads a release diff, follows logs;
// a wrong token, a forged cross-site POST and inline script are refused.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { setupShop, SHOP_TOKEN, type Shop } from './lib/shop.js';
import { freePort } from './lib/project.js';
import { startLoad, waitFor } from './lib/load.js';

const CHROMIUM = '/usr/bin/chromium';
const ACTIVE = '[data-cluster="api-http-dev"] .active-name';

/** A POST from node with the browser's cookie: what a forged request can send at best. */
function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the dashboard in a browser', () => {
  let shop: Shop;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;
  let token: string;
  /** Every HTML and JSON answer the browser got: none may carry the secret. */
  const seen: string[] = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    shop = await setupShop({ serverArgs: ['--listen', `127.0.0.1:${port}`] });
    await shop.releaseApi('2.0.0');
    token = fs.readFileSync(path.join(shop.p.dir, '.kiln', 'run', 'token'), 'utf8').trim();
    browser = await chromium.launch({ executablePath: CHROMIUM });
    context = await browser.newContext();
    context.on('response', (r) => {
      const type = r.headers()['content-type'] ?? '';
      if (type.startsWith('text/html') || type.startsWith('application/json')) void r.text().then((t) => seen.push(t), () => undefined);
    });
  });
  after(async () => {
    await browser?.close();
    await shop?.p.cleanup();
  });

  test('a wrong token is refused and gives no session', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/ui/env/dev`);
    assert.equal(new URL(page.url()).pathname, '/ui/login', 'a page without a session sends to the login form');
    await page.fill('#token', 'not-the-token');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/ui/login') && r.request().method() === 'POST'), page.press('#token', 'Enter')]);
    assert.equal(answer.status(), 401);
    assert.match(await page.textContent('[role=alert]') ?? '', /not this control plane's token/);
    assert.deepEqual((await context.cookies()).filter((c) => c.name === 'kiln_session'), []);
    await page.goto(`${base}/ui/`);
    assert.equal(new URL(page.url()).pathname, '/ui/login');
    await page.close();
  });

  test('logging in by keyboard with the token shows the environments; the token never appears in a URL', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await page.goto(`${base}/ui/login`);
    // The field takes focus on load: type the token and press Enter, no mouse.
    await page.waitForFunction(() => document.activeElement?.id === 'token');
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/ui/`);
    const rows = await page.locator('#environments tbody th').allTextContents();
    assert.deepEqual(rows, ['dev', 'staging']);
    assert.match(await page.locator('#environments tbody tr', { hasText: 'dev' }).first().textContent() ?? '', /r1/);
    const cookie = (await context.cookies()).find((c) => c.name === 'kiln_session');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!urls.some((u) => u.includes(token)), 'no URL carries the token');
    await page.close();
  });

  test('deploy r2 from the page while requests flow: none fails, and a page left open shows the active group change', { timeout: 5 * 60_000 }, async () => {
    const watching = await context.newPage();
    await watching.goto(`${base}/ui/env/dev`);
    assert.equal(await watching.textContent(ACTIVE), 'api-http-dev-v001');
    // A keyboard user's place on the page: the live update must not take the focus away.
    await watching.focus('[data-cluster="api-http-dev"] a');

    const load = startLoad({ url: shop.url('/items'), host: 'api-http-dev.shop.test', mix: 'both', concurrency: 4 });
    try {
      await waitFor(() => load.stats().total >= 100, { what: 'load before the deploy' });
      const page = await context.newPage();
      await page.goto(`${base}/ui/env/dev`);
      await page.selectOption('#release', 'r2');
      await page.click('button:has-text("Deploy…")');
      // The confirmation shows the plan --dry-run prints, naming the new group.
      assert.match(await page.textContent('pre.plan') ?? '', /api-http-dev-v002/);
      await page.click('button:has-text("Deploy r2 to dev")');
      await page.waitForSelector('#outcome', { timeout: 4 * 60_000 });
      assert.equal(await page.textContent('#outcome'), 'done', await page.textContent('#progress') ?? '');
      assert.match(await page.textContent('#progress') ?? '', /r2 serves dev/);
      // The page left open was never reloaded: the live stream brought the change.
      await watching.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'api-http-dev-v002', ACTIVE, { timeout: 30_000 });
      assert.equal(await watching.evaluate(() => `${document.activeElement?.closest('[data-cluster]')?.getAttribute('data-cluster')} ${document.activeElement?.textContent}`), 'api-http-dev logs');
      await page.close();
    } finally {
      const report = await load.stop();
      assert.equal(report.failed, 0, `failed requests: ${report.errors.join('; ')}`);
      assert.ok((report.byVersion['2.0.0'] ?? 0) > 0, 'requests reached r2');
    }
    // The traffic column comes from the proxy's counts: the new group took all recent requests.
    await watching.waitForFunction(
      () => document.querySelector('[data-group="api-http-dev-v002"] td:nth-of-type(4)')?.textContent?.trim() !== '?',
      undefined,
      { timeout: 30_000 },
    );
    await watching.close();
  });

  test('roll back from the page: the confirmation names the groups, the timeline shows both deployments', { timeout: 3 * 60_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/ui/env/dev`);
    await page.click('button:has-text("Roll back…")');
    assert.match(await page.textContent('ul.plan') ?? '', /api-http-dev: api-http-dev-v002 → api-http-dev-v001/);
    // The same steps as the CLI's dry run, which changes nothing either.
    assert.match((await shop.p.kiln(['rollback', '--env', 'dev', '--dry-run'])).stdout, /would switch api-http-dev: api-http-dev-v002 -> api-http-dev-v001/);
    assert.equal((await shop.status()).clusters.find((c) => c.name === 'api-http-dev')?.active, 'api-http-dev-v002');
    await page.click('button:has-text("Roll back dev")');
    await page.waitForSelector('#outcome', { timeout: 2 * 60_000 });
    assert.equal(await page.textContent('#outcome'), 'done', await page.textContent('#progress') ?? '');
    await page.goto(`${base}/ui/env/dev`);
    assert.equal(await page.textContent(ACTIVE), 'api-http-dev-v001');
    assert.equal((await shop.get('api-http-dev.shop.test', '/items')).version, '1.0.0');
    await page.goto(`${base}/ui/env/dev/timeline`);
    const rows = await page.locator('#timeline table tbody tr').allTextContents();
    assert.match(rows[0] ?? '', /rollback\s*r1\s*succeeded[\s\S]*dashboard$/);
    assert.match(rows[1] ?? '', /deploy\s*r2\s*succeeded[\s\S]*dashboard$/);
    // r1's deploy was the CLI's, which names its user.
    assert.match(rows[2] ?? '', /deploy\s*r1\s*succeeded[\s\S]*cli \(\S+\)$/);
    await page.close();
  });

  test('a release\'s tags and the diff of two releases', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/ui/releases/r2`);
    const tags = await page.locator('table tbody tr').allTextContents();
    assert.ok(tags.some((t) => /app\/api\s*2\.0\.0/.test(t)), tags.join('\n'));
    assert.ok(tags.some((t) => /data\/orders/.test(t)), tags.join('\n'));
    await page.goto(`${base}/ui/releases`);
    await page.selectOption('#from', 'r1');
    await page.selectOption('#to', 'r2');
    await page.click('button:has-text("Diff")');
    // The api's app changed, and nothing of web: one row, in the app part, naming both tags.
    const rows = await page.locator('.diff-services tbody tr').allTextContents();
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0] ?? '', /api\s*app\s*app app\/api:1\.0\.0 -> app\/api:2\.0\.0/);
    // The same as the CLI prints, word for word.
    assert.equal(await page.textContent('.diff-text'), (await shop.p.kiln(['release', 'diff', 'r1', 'r2'])).stdout.trimEnd());
    await page.close();
  });

  test('following a cluster\'s logs shows a line written to a server\'s log file', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/ui/logs?env=dev&cluster=api-http-dev&lines=5`);
    await page.waitForFunction(() => document.getElementById('log-state')?.textContent === 'following new lines');
    const server = 'api-http-dev-v001-1';
    const marker = `dashboard-test-${process.pid}-${Date.now()}`;
    fs.appendFileSync(path.join(shop.p.dir, '.kiln', 'logs', 'dev', 'api-http-dev', server, `${server}.log`), `${JSON.stringify({ msg: marker })}\n`);
    const line = await page.waitForSelector(`#log-lines li:has-text("${marker}")`, { timeout: 15_000 });
    assert.match((await line.textContent()) ?? '', new RegExp(`${server} log .*${marker}`));
    await page.close();
  });

  test('a forged POST is refused: from another origin\'s page, without the CSRF token, or with a foreign Origin', { timeout: 60_000 }, async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'kiln_session')!;
    const form = 'application/x-www-form-urlencoded';
    // A page of another origin on the same machine (same site for cookies: only the token and Origin stop it).
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form id="f" method="post" action="${base}/ui/env/dev/deploy"><input name="release" value="r2"><input name="csrf" value="guessed"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const page = await context.newPage();
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url() === `${base}/ui/env/dev/deploy`), page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)]);
      assert.equal(answer.status(), 403);
      await page.close();
    } finally {
      evil.close();
    }
    const headers = { cookie: `kiln_session=${cookie.value}`, 'content-type': form, host: new URL(base).host };
    assert.equal((await post(`${base}/ui/env/dev/rollback`, { ...headers, origin: base }, '')).status, 403, 'no CSRF token');
    // The real token, from a foreign page: the Origin refuses it.
    const page = await context.newPage();
    await page.goto(`${base}/ui/env/dev/rollback`);
    const csrf = (await page.getAttribute('input[name=csrf]', 'value'))!;
    await page.close();
    assert.equal((await post(`${base}/ui/env/dev/rollback`, { ...headers, origin: 'http://evil.test' }, `csrf=${csrf}`)).status, 403, 'foreign Origin');
    assert.equal((await post(`${base}/ui/env/dev/rollback`, headers, `csrf=${csrf}`)).status, 403, 'no Origin');
    // The API with the cookie alone: no CSRF header, refused; a rebound host name gets nothing.
    assert.equal((await post(`${base}/v1/rollback`, { ...headers, origin: base, 'content-type': 'application/json' }, '{"env":"dev"}')).status, 403);
    assert.equal((await post(`${base}/ui/env/dev/rollback`, { ...headers, origin: 'http://rebound.test', host: 'rebound.test' }, `csrf=${csrf}`)).status, 421);
    // Nothing changed: r1 still serves.
    assert.equal((await shop.status()).clusters.find((c) => c.name === 'api-http-dev')?.active, 'api-http-dev-v001');
  });

  test('a failed deploy on the timeline says why, with the last lines the failing server wrote', { timeout: 3 * 60_000 }, async () => {
    const r3 = await shop.releaseApi('3.0.0', { unhealthy: true });
    const d = await shop.p.kiln(['deploy', r3, '--env', 'dev'], { allowFail: true });
    assert.notEqual(d.code, 0, 'the unhealthy release fails its deploy');
    const page = await context.newPage();
    await page.goto(`${base}/ui/env/dev/timeline`);
    const row = page.locator('#timeline table tbody tr').first();
    assert.match((await row.textContent()) ?? '', new RegExp(`deploy\\s*${r3}\\s*failed`));
    await row.locator('summary').first().click();
    assert.match((await row.locator('pre.tail').first().textContent()) ?? '', /api-http-dev-v00\d-\d (log|stdout|stderr) /);
    await page.close();
  });

  test('the Content-Security-Policy stops inline script, and no page or answer carries the secret', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    const res = await page.goto(`${base}/ui/env/dev`);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'document.body.dataset.injected = "ran"';
      document.body.append(s);
      return document.body.dataset.injected === 'ran';
    });
    assert.equal(ran, false, 'an injected inline script did not run');
    for (const p of ['/ui/', '/ui/releases/r1', '/ui/diff?from=r1&to=r2', '/ui/env/dev/deploy?release=r2', '/ui/env/dev/timeline']) await page.goto(`${base}${p}`);
    await page.close();
    await waitFor(() => seen.length > 10, { what: 'answers recorded' });
    assert.ok(!seen.some((t) => t.includes(SHOP_TOKEN)), 'the web token secret reached the browser');
  });
});
