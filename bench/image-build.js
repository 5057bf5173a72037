#!/usr/bin/env node
// Image build: Kiln writing the example shop's images (api, web) vs `podman build` of the same
// content from equivalent Containerfiles (FROM the same base, imported into podman), in one run:
//   cold   fresh store / fresh podman storage: import the 170 MB base, build both images
//   warm   one file of api changed: new app tag for api, rebuild both images (podman: layer cache)
//   no-op  nothing changed: rebuild every image
// Kiln is timed through its API in this process (no CLI start-up); podman through its CLI.
//
//   npm run build && node bench/image-build.js [--runs 3]
// Targets: Kiln >= 2x faster warm; no-op rebuild of every image < 1 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dist, median, minbaseTar, repo, sh, timed } from './image-lib.js';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 3) || 3;
const { initKilnDir, openStore } = await dist('src/store/init.js');
const { loadSpec } = await dist('src/spec/load.js');
const { buildOs } = await dist('src/streams/os/index.js');
const { buildAndTagApp } = await dist('src/streams/app/index.js');
const { buildServiceImage, platformLayerTar } = await dist('src/image/index.js');
const { extractTar } = await dist('src/image/tar.js');

const base = await minbaseTar();
const SERVICES = ['api', 'web'];

/** A copy of examples/shop whose services run on an imported OS base. */
function makeProject(dir) {
  fs.cpSync(path.join(repo, 'examples/shop'), dir, { recursive: true, filter: (s) => !s.includes('.kiln') });
  fs.copyFileSync(base, path.join(dir, 'base.tar'));
  let y = fs.readFileSync(path.join(dir, 'kiln.yaml'), 'utf8');
  y = y.replace('services:\n', 'os:\n  base: { import: base.tar }\nservices:\n');
  for (const s of SERVICES) y = y.replace(`  ${s}:\n`, `  ${s}:\n    os: base\n`);
  fs.writeFileSync(path.join(dir, 'kiln.yaml'), y);
}

let version = 0;
async function kilnBuild(dir, { os: withOs, tag }) {
  const spec = loadSpec(path.join(dir, 'kiln.yaml'));
  const store = openStore(dir);
  try {
    if (withOs) await buildOs(store, spec, 'base');
    for (const s of tag) await buildAndTagApp(store, spec, s, `1.0.${version++}`);
    for (const s of SERVICES) await buildServiceImage(store, spec, s);
  } finally {
    store.db.close();
  }
}

/** podman contexts: the built app (build command run on the host, as Kiln does) + the platform files. */
function podmanContexts(dir, ctxRoot) {
  for (const s of SERVICES) {
    const c = path.join(ctxRoot, s);
    fs.rmSync(c, { recursive: true, force: true });
    fs.cpSync(path.join(dir, 'apps', s), path.join(c, 'app'), { recursive: true });
    if (s === 'web') sh([process.execPath, 'build.js'], { cwd: path.join(c, 'app') });
    fs.mkdirSync(path.join(c, 'platform'));
    fs.writeFileSync(
      path.join(c, 'Containerfile'),
      `FROM localhost/kiln-bench-base:latest\nCOPY platform/ /\nCOPY app/ /app/\nWORKDIR /app\nSTOPSIGNAL SIGTERM\nENTRYPOINT ["node", "server.js"]\n`,
    );
  }
}

async function platformDir(ctxRoot) {
  for (const s of SERVICES) await extractTar(platformLayerTar(), path.join(ctxRoot, s, 'platform'));
}

function podman(root, argv) {
  const conf = path.join(root, 'containers.conf');
  return sh(['podman', '--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), ...argv], {
    env: { ...process.env, CONTAINERS_CONF: conf },
  });
}

function podmanBuildAll(root, dir, ctxRoot) {
  podmanContexts(dir, ctxRoot);
  return platformDir(ctxRoot).then(() => {
    for (const s of SERVICES) podman(root, ['build', '-q', '--layers', '-t', `kiln-bench/${s}`, path.join(ctxRoot, s)]);
  });
}

const res = { kiln: { cold: [], warm: [], noop: [] }, podman: { cold: [], warm: [], noop: [] } };
for (let i = 0; i < runs; i++) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-img-'));
  const proot = path.join(work, 'podman');
  fs.mkdirSync(proot);
  fs.writeFileSync(path.join(proot, 'containers.conf'), '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=8192:8192"]\n\n[engine]\nruntime = "runc"\n');
  try {
    const dir = path.join(work, 'shop');
    makeProject(dir);
    const ctx = path.join(work, 'ctx');
    fs.mkdirSync(ctx);
    // cold
    res.kiln.cold.push((await timed(async () => {
      initKilnDir(dir);
      await kilnBuild(dir, { os: true, tag: SERVICES });
    })).ms);
    res.podman.cold.push((await timed(async () => {
      podman(proot, ['import', '-q', path.join(dir, 'base.tar'), 'localhost/kiln-bench-base:latest']);
      await podmanBuildAll(proot, dir, ctx);
    })).ms);
    // warm: one api file changed
    for (let w = 0; w < 3; w++) {
      fs.appendFileSync(path.join(dir, 'apps/api/server.js'), `// change ${i}.${w}\n`);
      res.kiln.warm.push((await timed(() => kilnBuild(dir, { os: false, tag: ['api'] }))).ms);
      res.podman.warm.push((await timed(() => podmanBuildAll(proot, dir, ctx))).ms);
    }
    // no-op
    for (let n = 0; n < 3; n++) {
      res.kiln.noop.push((await timed(() => kilnBuild(dir, { os: false, tag: [] }))).ms);
      res.podman.noop.push((await timed(() => podmanBuildAll(proot, dir, ctx))).ms);
    }
  } finally {
    try {
      podman(proot, ['system', 'reset', '--force']);
    } catch {
      /* best effort */
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}
const m = (xs) => median(xs) / 1000;
console.log(`example shop (api, web) on a ${(fs.statSync(base).size / 1e6).toFixed(0)} MB minbase; ${runs} cold runs, ${res.kiln.warm.length} warm, ${res.kiln.noop.length} no-op; medians`);
for (const k of ['cold', 'warm', 'noop']) {
  const a = m(res.kiln[k]);
  const b = m(res.podman[k]);
  console.log(`${k.padEnd(5)}  kiln ${a.toFixed(3).padStart(7)} s   podman build ${b.toFixed(3).padStart(7)} s   podman/kiln ${(b / a).toFixed(1)}x`);
}
console.log(`targets: warm >= 2x faster -> ${m(res.podman.warm) / m(res.kiln.warm) >= 2 ? 'met' : 'NOT met'}; no-op < 1 s -> ${m(res.kiln.noop) < 1 ? 'met' : 'NOT met'}`);
