#!/usr/bin/env node
// The Kubernetes test cluster's costs (test/k8s):
//   - binaries, cold: from the cache entry's BUILD-INFO (written by the build that made it; a cold
//     build is not re-run here — it takes a quarter of an hour and 10 GB of Go caches);
//   - binaries, from the cache: test/k8s/build.sh on a warm cache, median of --runs;
//   - bring-up: `cluster.sh up` from nothing to node Ready + default ServiceAccount, median of
//     --cycles up/down cycles (and the down times); `up` on a healthy cluster (reuse).
// The cluster is left as it was found (up or down). Run as root.
//   node bench/k8s-cluster.js [--cycles 5] [--runs 5] [--json]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, option } from './lib.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cluster = path.join(root, 'test', 'k8s', 'cluster.sh');
const build = path.join(root, 'test', 'k8s', 'build.sh');
const cycles = Number(option('cycles', '5'));
const runs = Number(option('runs', '5'));
const asJson = process.argv.includes('--json');

const timed = (file, args) => {
  const t = performance.now();
  const r = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')} failed:\n${r.stderr}`);
  return { ms: performance.now() - t, stdout: r.stdout, stderr: r.stderr };
};
const stats = (xs) => ({ median: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)), n: xs.length });
const s = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

const wasUp = spawnSync(cluster, ['status'], { stdio: 'ignore' }).status === 0;

const fromCache = [];
let entry = '';
for (let i = 0; i < runs; i++) {
  const r = timed(build, ['--quiet']);
  entry = r.stdout.trim();
  fromCache.push(r.ms);
}
const info = fs.readFileSync(path.join(entry, 'BUILD-INFO'), 'utf8').trim();
const cold = Number(/ in (\d+) s/.exec(info)?.[1] ?? NaN) * 1000;

const ups = [];
const downs = [];
timed(cluster, ['down']);
for (let i = 0; i < cycles; i++) {
  ups.push(timed(cluster, ['up']).ms);
  downs.push(timed(cluster, ['down']).ms);
}
timed(cluster, ['up']);
const reuse = [];
for (let i = 0; i < runs; i++) reuse.push(timed(cluster, ['up']).ms);
if (!wasUp) timed(cluster, ['down']);

const result = {
  buildInfo: info,
  binariesColdMs: cold,
  binariesFromCacheMs: stats(fromCache),
  bringUpMs: stats(ups),
  teardownMs: stats(downs),
  upReuseMs: stats(reuse),
  coldBuildToBringUpRatio: Number((cold / median(ups)).toFixed(1)),
};
if (asJson) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`test cluster binaries, cold build    ${s(cold)}   (${info})`);
  console.log(`test cluster binaries, from cache    median ${s(result.binariesFromCacheMs.median)} (min ${s(result.binariesFromCacheMs.min)}, max ${s(result.binariesFromCacheMs.max)}, ${runs} runs)`);
  console.log(`bring-up to node Ready               median ${s(result.bringUpMs.median)} (min ${s(result.bringUpMs.min)}, max ${s(result.bringUpMs.max)}, ${cycles} cycles)`);
  console.log(`teardown                             median ${s(result.teardownMs.median)} (min ${s(result.teardownMs.min)}, max ${s(result.teardownMs.max)})`);
  console.log(`up on a healthy cluster (reuse)      median ${s(result.upReuseMs.median)} (min ${s(result.upReuseMs.min)}, max ${s(result.upReuseMs.max)})`);
  console.log(`cold build / bring-up                ${result.coldBuildToBringUpRatio}x`);
}
