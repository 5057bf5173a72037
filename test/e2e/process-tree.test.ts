// A server's whole process tree ends with it (issue 11, defect 11). The shop's api worker is made
// to fork a child that ignores SIGTERM (in its process group) and, through a parent that exits at
// once, a `setsid` grandchild (own session, re-parented to init): the two kinds that used to
// survive `kiln down`, a group's teardown, and the death of the server itself.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupShop, processesMatching, type Shop } from './lib/shop.js';
import { waitFor } from './lib/wait.js';

const KEEP = 'setInterval(() => {}, 1000)';
// The grandchild's tag is computed by its parent, so only its own command line holds it.
const MID = `require('node:child_process').spawn(process.execPath, ['-e', '${KEEP}', process.argv[1].replace('kiln-desc-mid', 'kiln-desc-setsid')], { detached: true, stdio: 'ignore' }).unref()`;

/** Each worker instance forks both kinds, tagged with its own log file (which names the server). */
function makeWorkerFork(projectDir: string): void {
  const worker = path.join(projectDir, 'apps', 'api', 'worker.js');
  const w = fs.readFileSync(worker, 'utf8');
  const start = "  log.write('start', { intervalMs, greeting });";
  assert.ok(w.includes(start));
  fs.writeFileSync(
    worker,
    w.replace(
      start,
      [
        start,
        "  const { spawn } = require('node:child_process');",
        `  spawn(process.execPath, ['-e', ${JSON.stringify(`process.on('SIGTERM', () => {}); ${KEEP}`)}, 'kiln-desc-stubborn:' + logFile], { stdio: 'ignore' });`,
        `  spawn(process.execPath, ['-e', ${JSON.stringify(MID)}, 'kiln-desc-mid:' + logFile], { stdio: 'ignore' });`,
      ].join('\n'),
    ),
  );
}

describe('process trees', () => {
  let shop: Shop;
  const descendants = (kind: 'stubborn' | 'setsid', server = ''): number[] => processesMatching(`kiln-desc-${kind}:`, `${shop.p.dir}/.kiln/logs/dev/api-worker-dev/${server}`);
  before(async () => {
    shop = await setupShop();
    makeWorkerFork(shop.p.dir);
    await shop.p.kiln(['deploy', await shop.releaseApi('2.0.0'), '--env', 'dev']);
  });
  after(async () => {
    await shop?.p.cleanup();
  });

  test('defect 11: a killed server leaves nothing behind; kiln down ends every descendant', { timeout: 5 * 60_000 }, async () => {
    await waitFor(() => descendants('stubborn').length === 1 && descendants('setsid').length === 1, { what: 'the worker\'s two descendants' });
    const worker = (await shop.status()).clusters.find((c) => c.name === 'api-worker-dev')!.groups.find((g) => g.state === 'active')!.servers[0]!;

    // The server dies: what it forked goes too (its replacement forks its own).
    process.kill(worker.pid!, 'SIGKILL');
    await waitFor(() => descendants('stubborn', `${worker.name}.log`).length === 0 && descendants('setsid', `${worker.name}.log`).length === 0, {
      timeoutMs: 15_000,
      what: `the descendants of ${worker.name} to be gone`,
    });
    await waitFor(() => descendants('stubborn').length === 1 && descendants('setsid').length === 1, { timeoutMs: 30_000, what: 'the replacement\'s descendants' });

    // kiln down: the SIGTERM-ignoring child is killed after the grace period, the setsid one too.
    await shop.p.kiln(['down', '--env', 'dev']);
    assert.deepEqual(descendants('stubborn'), [], 'a child that ignores SIGTERM survived kiln down');
    assert.deepEqual(descendants('setsid'), [], 'a setsid grandchild survived kiln down');
  });
});
