#!/usr/bin/env node
// `kiln rebuild` on generated projects of 1, 10, 20 and 50 services (each a small Node app, one
// http role), through the real CLI (process start included, as a user runs it):
//   - no-op rebuild (nothing changed): median of 5, total and per service; target < 1 s for 20,
//     and growth linear in the number of services;
//   - in the 20-service project: rebuild after one app file changed vs a cold rebuild (a new
//     project: every app built and tagged, one release): medians and the ratio.
//   node bench/rebuild.js                  # sizes 1,10,20,50
//   KILN_BENCH_SIZES=1,20 node bench/rebuild.js
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kilnBin = path.join(root, 'bin', 'kiln.js');
const SIZES = (process.env.KILN_BENCH_SIZES ?? '1,10,20,50').split(',').map(Number);
const RUNS = 5;

function makeProject(n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-bench-rebuild-${n}-`));
  const services = [];
  for (let i = 1; i <= n; i++) {
    const name = `s${i}`;
    const app = path.join(dir, 'apps', name);
    fs.mkdirSync(path.join(app, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0' }) + '\n');
    fs.writeFileSync(path.join(app, 'server.js'), `import http from 'node:http';\nconst port = Number(process.argv.find((a) => a.startsWith('--port='))?.slice(7));\nhttp.createServer((q, r) => r.end('${name}')).listen(port, '127.0.0.1');\n`);
    for (let f = 0; f < 8; f++) fs.writeFileSync(path.join(app, 'lib', `m${f}.js`), `export const v${f} = ${JSON.stringify('x'.repeat(2000))};\n`);
    services.push(`  ${name}:\n    app: { path: apps/${name}, run: [node, server.js] }\n    roles: { http: { port: http, health: / } }`);
  }
  fs.writeFileSync(path.join(dir, 'kiln.yaml'), `project: bench\nservices:\n${services.join('\n')}\nenvironments:\n  dev: { runtime: process }\n`);
  return dir;
}

const kiln = (dir, ...args) => execFileSync(process.execPath, [kilnBin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const timed = (fn) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const noop = {};
for (const n of SIZES) {
  const dir = makeProject(n);
  try {
    kiln(dir, 'init');
    kiln(dir, 'rebuild'); // first: builds and tags every app, r1
    const runs = Array.from({ length: RUNS }, () => timed(() => {
      const out = kiln(dir, 'rebuild');
      if (!/nothing changed/.test(out)) throw new Error(`a no-op rebuild changed something: ${out}`);
    }));
    noop[n] = median(runs);
    console.log(`no-op rebuild, ${String(n).padStart(2)} services: ${noop[n].toFixed(0)} ms (${(noop[n] / n).toFixed(1)} ms/service)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
if (noop[1] !== undefined && noop[50] !== undefined) {
  console.log(`growth: (50 services - 1 service) / 49 = ${((noop[50] - noop[1]) / 49).toFixed(1)} ms per added service`);
}

// One app changed vs cold, 20 services.
const cold = [];
for (let i = 0; i < 3; i++) {
  const dir = makeProject(20);
  try {
    kiln(dir, 'init');
    cold.push(timed(() => kiln(dir, 'rebuild')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const dir = makeProject(20);
try {
  kiln(dir, 'init');
  kiln(dir, 'rebuild');
  const one = Array.from({ length: RUNS }, (_, i) => {
    fs.appendFileSync(path.join(dir, 'apps', 's7', 'server.js'), `// change ${i}\n`);
    return timed(() => {
      const out = kiln(dir, 'rebuild');
      if (!/^r\d+ /.test(out)) throw new Error(`expected a new release: ${out}`);
    });
  });
  const c = median(cold);
  const o = median(one);
  console.log(`20 services: cold rebuild ${c.toFixed(0)} ms, after one app change ${o.toFixed(0)} ms: ratio ${(o / c).toFixed(2)}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
