#!/usr/bin/env node
// Screenshots of the dashboard's main pages for docs/ (docs/screenshots/*.png), made with the same
// browser and set-up as its test (Debian's chromium, playwright-core, the example shop with r1
// and r2, a deploy of r2 so that a kept group shows), plus two figures: the page's first
// contentful paint and load (medians of 7 loads of the dev page, the cache kept) and the size of
// what the browser downloads (HTML, script, stylesheet; raw and gzip). Run after `npm run build`:
//   node scripts/screenshots.js [--no-shots]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { setupShop } = await import(path.join(root, 'dist/test/e2e/lib/shop.js'));
const { freePort } = await import(path.join(root, 'dist/test/e2e/lib/project.js'));
const shots = !process.argv.includes('--no-shots');
const outDir = path.join(root, 'docs', 'screenshots');

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const shop = await setupShop({ serverArgs: ['--listen', `127.0.0.1:${port}`] });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  await shop.releaseApi('2.0.0');
  await shop.p.kiln(['deploy', 'r2', '--env', 'dev']);
  const token = fs.readFileSync(path.join(shop.p.dir, '.kiln', 'run', 'token'), 'utf8').trim();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(`${base}/ui/login`);
  if (shots) {
    fs.mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, 'login.png') });
  }
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForURL(`${base}/ui/`);
  // Some traffic, so the traffic column has shares to show.
  for (let i = 0; i < 40; i++) await shop.get('api-http-dev.shop.test', '/items');
  const pages = [
    ['environments', '/ui/'],
    ['environment', '/ui/env/dev'],
    ['deploy-confirm', '/ui/env/dev/deploy?release=r1'],
    ['timeline', '/ui/env/dev/timeline'],
    ['releases', '/ui/releases'],
    ['release', '/ui/releases/r2'],
    ['diff', '/ui/diff?from=r1&to=r2'],
    ['logs', '/ui/logs?env=dev&cluster=api-http-dev&lines=30'],
  ];
  if (shots) {
    for (const [name, p] of pages) {
      await page.goto(`${base}${p}`);
      if (name === 'logs') await page.waitForFunction(() => document.querySelectorAll('#log-lines li').length > 0);
      await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: false });
      console.log(`wrote docs/screenshots/${name}.png`);
    }
  }

  // Page load of the dev environment's page: first contentful paint and load event, medians.
  const fcp = [];
  const load = [];
  for (let i = 0; i < 7; i++) {
    await page.goto(`${base}/ui/env/dev`, { waitUntil: 'load' });
    // Paint entries may be reported after the load event: a buffered observer waits for them.
    const t = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const load = performance.getEntriesByType('navigation')[0]?.loadEventEnd ?? NaN;
          new PerformanceObserver((list) => {
            const e = list.getEntriesByName('first-contentful-paint')[0];
            if (e) resolve({ fcp: e.startTime, load });
          }).observe({ type: 'paint', buffered: true });
          setTimeout(() => resolve({ fcp: NaN, load }), 3000);
        }),
    );
    fcp.push(t.fcp);
    load.push(t.load);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cookie = (await context.cookies()).find((c) => c.name === 'kiln_session');
  const fetchText = async (p) => (await (await fetch(`${base}${p}`, { headers: { cookie: `kiln_session=${cookie.value}` } })).arrayBuffer());
  const sizes = {};
  for (const p of ['/ui/env/dev', '/assets/app.js', '/assets/app.css']) {
    const b = Buffer.from(await fetchText(p));
    sizes[p] = { bytes: b.length, gzip: zlib.gzipSync(b).length };
  }
  const figures = { firstContentfulPaintMs: Math.round(median(fcp) * 10) / 10, loadEventMs: Math.round(median(load) * 10) / 10, runs: fcp.length, sizes };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  await browser.close();
  await shop.p.cleanup();
}
