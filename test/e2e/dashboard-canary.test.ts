// A canary steered from the dashboard in a real browser: deploy r2 as a canary from the page, see
// its step, split and gate numbers on a page left open, promote it to the next step, pause it and
// abort it, each after a confirmation that says what will change; requests through the proxy
// never fail, and after the abort the stable group takes them all again.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLUSTER, drive, makeCanaryProject, watchWeight, type CanaryProject } from './lib/canary-fixture.js';
import { freePort } from './lib/project.js';
import { waitFor } from './lib/wait.js';

const HEALTHY = { delayMs: 20, errorRate: 0 };
const card = `[data-canary="${CLUSTER}"]`;

describe('a canary steered from the dashboard', () => {
  let cp: CanaryProject;
  let browser: Browser;
  let base: string;

  before(async () => {
    cp = await makeCanaryProject({ steps: '[{ weight: 10%, pause: manual }, { weight: 50%, pause: manual }]', minRequests: 20, maxP99Ratio: 5 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await cp.p.startServer({ args: ['--listen', `127.0.0.1:${port}`] });
    await cp.p.kiln(['deploy', await cp.release({ version: '1.0.0', ...HEALTHY }), '--env', 'dev']);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  });
  after(async () => {
    await browser?.close();
    await cp?.p.cleanup();
  });

  /** Clicks an action's button, checks its confirmation, confirms, and waits for the outcome. */
  async function steer(page: Page, button: string, effect: RegExp, confirm: string): Promise<string> {
    await page.goto(`${base}/ui/env/dev`);
    await page.click(`${card} button:has-text("${button}")`);
    assert.match((await page.textContent('p.plan')) ?? '', effect);
    await page.click(`button:has-text("${confirm}")`);
    await page.waitForSelector('#outcome', { timeout: 90_000 });
    assert.equal(await page.textContent('#outcome'), 'done', (await page.textContent('#progress')) ?? '');
    return (await page.textContent('#progress')) ?? '';
  }

  test('deploy as a canary, watch its step and gates, promote, pause, abort: no request fails', { timeout: 8 * 60_000 }, async () => {
    const r2 = await cp.release({ version: '2.0.0', ...HEALTHY });
    const token = fs.readFileSync(path.join(cp.p.dir, '.kiln', 'run', 'token'), 'utf8').trim();
    const context = await browser.newContext();
    const login = await context.newPage();
    await login.goto(`${base}/ui/login`);
    await login.fill('#token', token);
    await login.press('#token', 'Enter');
    await login.waitForURL(`${base}/ui/`);
    await login.close();

    const weight = watchWeight(cp);
    const load = drive(cp.p.proxyPort, { clients: 4, sticky: false, weight: weight.current });
    try {
      const watching = await context.newPage();
      await watching.goto(`${base}/ui/env/dev`);
      const deploying = await context.newPage();
      await deploying.goto(`${base}/ui/env/dev`);
      await deploying.selectOption('#release', r2);
      await deploying.check('input[name=canary]');
      await deploying.click('button:has-text("Deploy…")');
      assert.match((await deploying.textContent('h1')) ?? '', new RegExp(`Deploy ${r2} to dev as a canary\\?`));
      // The deploy's page streams until the canary ends; the other page watches.
      await deploying.click(`button:has-text("Deploy ${r2} to dev as a canary")`);

      const weightShown = (w: string) => watching.waitForFunction(([sel, w]) => document.querySelector(sel!)?.textContent === w, [`${card} .canary-weight`, w], { timeout: 120_000 });
      await weightShown('10%');
      await watching.waitForFunction((sel) => /awaiting-promote/.test(document.querySelector(sel)?.textContent ?? ''), `${card} h3`, { timeout: 60_000 });
      assert.match((await watching.textContent(`${card} .canary-step`)) ?? '', /1 of 2/);
      // Gate numbers arrive as the canary's group answers requests.
      await watching.waitForFunction((sel) => /canary \d+ requests/.test(document.querySelector(sel)?.textContent ?? ''), card, { timeout: 60_000 });

      const steering = await context.newPage();
      assert.match(await steer(steering, 'Promote…', /goes from 10% to 50%/, `Promote the canary of ${CLUSTER}`), /step 1 of 2 ends now/);
      await weightShown('50%');
      await steer(steering, 'Pause…', /stays at 50%/, `Pause the canary of ${CLUSTER}`);
      await watching.waitForFunction((sel) => /paused/.test(document.querySelector(sel)?.textContent ?? ''), `${card} h3`, { timeout: 30_000 });
      await steer(steering, 'Abort…', new RegExp(`goes to ${CLUSTER}-v001 again`), `Abort the canary of ${CLUSTER}`);
      await watching.waitForFunction((sel) => document.querySelector(sel) === null, card, { timeout: 60_000 });
      assert.equal(await watching.textContent(`[data-cluster="${CLUSTER}"] .active-name`), `${CLUSTER}-v001`);
      // The deploy's own page says how it ended.
      await deploying.waitForSelector('#outcome', { timeout: 60_000 });
      assert.equal(await deploying.textContent('#outcome'), 'aborted');
      await waitFor(() => weight.current() === 0, { what: 'the proxy to route no canary' });
    } finally {
      await load.stop();
      weight.stop();
    }
    const failed = load.samples.filter((s) => s.status !== 200);
    assert.equal(failed.length, 0, `failed: ${failed.slice(0, 5).map((s) => s.error ?? s.status).join(', ')}`);
    assert.ok(load.samples.some((s) => s.version === '2.0.0'), 'the canary took some requests');
    assert.equal(load.samples.at(-1)?.version, '1.0.0');
    await context.close();
  });
});
