#!/usr/bin/env node
// Kiln's blue/green switch on Kubernetes against a plain Deployment's rolling update, on the same
// test cluster, the same app (the very pod template Kiln deployed) and the same load: 4 clients
// in the node's network namespace, a new connection per request, to each one's ClusterIP Service.
//   - Kiln: `kiln deploy rN --env prod` (r1 and r2 alternately; it also deploys a worker cluster);
//     time to complete, failed requests, and the deploy-to-switch overhead beyond the pods' own
//     readiness: from the moment every pod of the new group is Ready (this script polls the API
//     every 50 ms) to the first answer of the new version (includes kube-proxy's rule update).
//   - plain: `kubectl apply` of the other version's template + `kubectl rollout status`, default
//     strategy (RollingUpdate, maxSurge 25%, maxUnavailable 25%), default everything else.
// Rounds are interleaved (Kiln, plain, Kiln, plain, ...); medians. Needs the cluster up
// (test/k8s/cluster.sh up) and a build (npm run build).
//   node bench/k8s-switch.js [--rounds 5] [--json]
import { spawnSync } from 'node:child_process';
import { median, option } from './lib.js';
import { ensureCluster } from '../dist/test/support/k8s.js';
import { makeK8sProject } from '../dist/test/support/k8s-project.js';
import { startClusterLoad } from '../dist/test/support/k8s-load.js';
import { KubeClient } from '../dist/src/runtime/kubernetes/client.js';
import { loadKubeconfig } from '../dist/src/runtime/kubernetes/kubeconfig.js';
import { podVerdict } from '../dist/src/runtime/kubernetes/pods.js';

// The cluster's addresses are private: this script (its API polls, kiln, kubectl) runs inside
// the node's network namespace, re-executing itself there.
if (!process.env.KILN_BENCH_IN_NODE) {
  const node = ensureCluster();
  const r = spawnSync('nsenter', [`--net=${node.netnsPath}`, '--', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, KILN_BENCH_IN_NODE: '1' } });
  process.exit(r.status ?? 1);
}

const rounds = Number(option('rounds', '5'));
const asJson = process.argv.includes('--json');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const c = ensureCluster();
const kns = await c.createNamespace('bswitch');
const pns = await c.createNamespace('bplain');
const p = makeK8sProject(c, kns, { project: 'k8sbench', secret: 'bench-token' });
const api = new KubeClient(loadKubeconfig(c.kubeconfig), kns.name);

try {
  const rel = [p.release('1'), p.release('2')];
  p.mustKiln(['deploy', rel[0], '--env', 'prod']);
  p.mustKiln(['deploy', rel[1], '--env', 'prod']);
  // The two pod templates Kiln runs (r2 active, r1 kept), for the plain Deployment.
  const status = JSON.parse(p.mustKiln(['status', '--env', 'prod', '--json']));
  const web = status.clusters.find((x) => x.cluster === 'web-http-prod');
  const template = (group) => c.kubectlJson(['get', 'deployment', group, '-n', kns.name]).spec.template.spec;
  const templates = { 1: template(web.previous), 2: template(web.active) };
  // Its Secret, copied under the same name: the template mounts it.
  for (const s of c.kubectlJson(['get', 'secrets', '-n', kns.name, '-l', 'kiln.io/project=k8sbench']).items) {
    c.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.metadata.name, namespace: pns.name }, data: s.data }));
  }
  const plain = (v) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'plain-web', namespace: pns.name },
    spec: { replicas: 2, selector: { matchLabels: { app: 'plain-web' } }, template: { metadata: { labels: { app: 'plain-web' } }, spec: templates[v] } },
  });
  const svcPort = c.kubectlJson(['get', 'service', 'web-http-prod', '-n', kns.name]).spec.ports[0];
  c.kubectl(['apply', '-f', '-'], JSON.stringify(plain(1)));
  c.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'plain-web', namespace: pns.name }, spec: { selector: { app: 'plain-web' }, ports: [{ name: svcPort.name, port: 80, targetPort: svcPort.targetPort }] } }));
  c.kubectl(['rollout', 'status', 'deployment/plain-web', '-n', pns.name, '--timeout=5m']);
  const ip = (ns, name) => c.kubectlJson(['get', 'service', name, '-n', ns]).spec.clusterIP;
  const kilnUrl = `http://${ip(kns.name, 'web-http-prod')}/version`;
  const plainUrl = `http://${ip(pns.name, 'plain-web')}/version`;

  /** Polls until every pod of the web cluster's new group (one not in `before`) is Ready; resolves with that moment. */
  const readyMoment = async (before, stop) => {
    while (!stop.done) {
      const pods = (await api.list('Pod', { 'kiln.io/cluster': 'web-http-prod' })).filter((x) => !x.metadata.deletionTimestamp && !before.has(x.metadata.labels['kiln.io/group']));
      if (pods.length >= 2 && pods.every((x) => podVerdict(x).state === 'ready')) return Date.now();
      await sleep(50);
    }
    return null;
  };

  const kilnRuns = [];
  const plainRuns = [];
  let kilnOn = 2;
  let plainOn = 1;
  for (let i = 0; i < rounds; i++) {
    {
      const to = kilnOn === 1 ? 2 : 1;
      const load = startClusterLoad(c, kilnUrl);
      await sleep(1500);
      const stop = { done: false };
      const before = new Set((await api.list('Deployment', { 'kiln.io/cluster': 'web-http-prod' })).map((d) => d.metadata.name));
      const ready = readyMoment(before, stop);
      const t = performance.now();
      const out = JSON.parse(p.mustKiln(['deploy', rel[to - 1], '--env', 'prod', '--json']));
      const ms = performance.now() - t;
      stop.done = true;
      const readyAt = await ready;
      await sleep(3000);
      const s = await load.stop();
      const seenAt = s.firstAt[String(to)];
      kilnRuns.push({ ms, failed: s.failed, requests: s.requests, switchMs: out.switchMs, overheadMs: readyAt && seenAt ? seenAt - readyAt : null, versions: s.versions });
      kilnOn = to;
    }
    {
      const to = plainOn === 1 ? 2 : 1;
      const load = startClusterLoad(c, plainUrl);
      await sleep(1500);
      const t = performance.now();
      c.kubectl(['apply', '-f', '-'], JSON.stringify(plain(to)));
      c.kubectl(['rollout', 'status', 'deployment/plain-web', '-n', pns.name, '--timeout=5m']);
      const ms = performance.now() - t;
      await sleep(3000);
      const s = await load.stop();
      plainRuns.push({ ms, failed: s.failed, requests: s.requests, versions: s.versions });
      plainOn = to;
    }
    if (!asJson) process.stderr.write(`round ${i + 1}/${rounds}: kiln ${Math.round(kilnRuns.at(-1).ms)} ms, ${kilnRuns.at(-1).failed} failed; plain ${Math.round(plainRuns.at(-1).ms)} ms, ${plainRuns.at(-1).failed} failed\n`);
  }
  const med = (xs, k) => Math.round(median(xs.map((x) => x[k]).filter((v) => v !== null)));
  const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
  const result = {
    rounds,
    kiln: { medianMs: med(kilnRuns, 'ms'), failed: sum(kilnRuns, 'failed'), requests: sum(kilnRuns, 'requests'), medianSwitchMs: med(kilnRuns, 'switchMs'), medianOverheadMs: med(kilnRuns, 'overheadMs'), overheadsMs: kilnRuns.map((x) => x.overheadMs) },
    plain: { medianMs: med(plainRuns, 'ms'), failed: sum(plainRuns, 'failed'), requests: sum(plainRuns, 'requests') },
  };
  result.ratio = +(result.kiln.medianMs / result.plain.medianMs).toFixed(2);
  if (asJson) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`Kubernetes switch, ${rounds} interleaved rounds, same app and load (medians)`);
    console.log(`  kiln deploy:             ${result.kiln.medianMs} ms to complete, ${result.kiln.failed} failed of ${result.kiln.requests} requests`);
    console.log(`    switch (record + Service patch): ${result.kiln.medianSwitchMs} ms; pods ready -> first new answer: ${result.kiln.medianOverheadMs} ms (each: ${result.kiln.overheadsMs.join(', ')})`);
    console.log(`  apply + rollout status:  ${result.plain.medianMs} ms to complete, ${result.plain.failed} failed of ${result.plain.requests} requests`);
    console.log(`  time ratio kiln / plain: ${result.ratio}`);
  }
} finally {
  api.close();
  kns.delete();
  pns.delete();
  p.remove();
}
