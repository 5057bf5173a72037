#!/usr/bin/env node
// How fast a bad canary is aborted, and how many requests it answers first (docs/canary.md, "How
// fast an abort is"). A project with one HTTP role (the canary test fixture: 2 servers, process
// runtime) serves release 1.0.0; a release answering 5% 500s is deployed with --canary at 20%
// under continuous load from 12 clients, for each gate minimum sample given. Measured from the
// client side: the time from the canary's first 500 to the moment the proxy's route table has no
// canary any more (polled every 5 ms on the admin socket), and the requests the canary answered
// before that moment.
//
//   npm run build && node bench/canary-abort.js [--runs 3] [--min 100,400] [--json]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { median, option } from './lib.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { makeCanaryProject, drive, CLUSTER } = await import(path.join(repo, 'dist/test/e2e/lib/canary-fixture.js'));
const runs = Number(option('runs', '3')) || 3;
const mins = String(option('min', '100,400')).split(',').map(Number).filter((n) => n > 0);
const asJson = process.argv.includes('--json');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const steps = '[{ weight: 20%, for: 10m }]';
// No warm-up: the time measured is the gate's own (a warm-up adds itself to it).
const cp = await makeCanaryProject({ steps, minRequests: mins[0], warmup: '0s' });
const results = [];
let server;
try {
  server = await cp.p.startServer();
  await cp.p.kiln(['deploy', await cp.release({ version: '1.0.0', delayMs: 5, errorRate: 0 }), '--env', 'dev']);
  let n = 0;
  for (const min of mins) {
    await cp.configure({ steps, minRequests: min, warmup: '0s' });
    for (let run = 0; run < runs; run++) {
      const version = `2.${min}.${n++}`;
      const rel = await cp.release({ version, delayMs: 5, errorRate: 0.05 });
      const load = drive(cp.p.proxyPort, { clients: 12, sticky: false, weight: () => 0 });
      let canarySeen = false;
      let abortedAt = null;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const r = await cp.route().catch(() => undefined);
          if (r?.canary) canarySeen = true;
          else if (canarySeen && abortedAt === null) abortedAt = Date.now();
          await sleep(5);
        }
      })();
      const deploy = await cp.p.kiln(['deploy', rel, '--env', 'dev', '--canary', '--json'], { allowFail: true, timeoutMs: 300_000 });
      polling = false;
      await poller;
      await load.stop();
      const out = JSON.parse(deploy.stdout);
      if (out.outcome !== 'aborted' || abortedAt === null) throw new Error(`run ${run}: not aborted: ${deploy.stdout}${deploy.stderr}`);
      const canary = load.samples.filter((s) => s.version === version);
      const firstBad = canary.filter((s) => s.status >= 500).reduce((m, s) => Math.min(m, s.at), Infinity);
      const before = canary.filter((s) => s.at <= abortedAt).length;
      const after = canary.length - before;
      results.push({ minRequests: min, msFirstBadToAbort: abortedAt - firstBad, canaryRequestsBeforeAbort: before, canaryRequestsAfter: after, gateCanaryRequests: out.failure.result.canary.requests });
    }
  }
} finally {
  server?.kill('SIGKILL');
  await cp.p.cleanup();
}

const summary = mins.map((min) => {
  const rs = results.filter((r) => r.minRequests === min);
  const pick = (k) => ({ median: median(rs.map((r) => r[k])), min: Math.min(...rs.map((r) => r[k])), max: Math.max(...rs.map((r) => r[k])) });
  return { minRequests: min, runs: rs.length, msFirstBadToAbort: pick('msFirstBadToAbort'), canaryRequestsBeforeAbort: pick('canaryRequestsBeforeAbort') };
});
const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
if (asJson) console.log(JSON.stringify({ measured: `canary of a 5%-500 release at 20%, 12 clients, ${CLUSTER}`, loadavg: load, summary, results }, null, 2));
else {
  console.log(`canary abort: release answering 5% 500s at weight 20%, 12 clients without cookies, ${runs} run(s) each (load average ${load})`);
  for (const s of summary) {
    console.log(
      `  min-requests ${s.minRequests}: first 500 -> abort ${s.msFirstBadToAbort.median} ms (min ${s.msFirstBadToAbort.min}, max ${s.msFirstBadToAbort.max}); ` +
        `requests the canary answered before the abort ${s.canaryRequestsBeforeAbort.median} (min ${s.canaryRequestsBeforeAbort.min}, max ${s.canaryRequestsBeforeAbort.max})`,
    );
  }
}
