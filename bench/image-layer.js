#!/usr/bin/env node
// Layer throughput: Kiln packing + hashing a 170 MB root filesystem vs `tar | sha256sum` of the
// same tree (the bound: one tar stream and one hash). Also: Kiln normalising mmdebstrap's tar
// (what `kiln os build` does) vs `sha256sum` of that tar, and what gzip would add per build.
//
//   npm run build && node bench/image-layer.js [--runs 5]
// Target: Kiln within 1.5x of tar | sha256sum.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { dist, median, minbaseTar, sh, timed } from './image-lib.js';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 5) || 5;

function tarSha(tree) {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-C', tree, '--sort=name', '--numeric-owner', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sum = spawn('sha256sum', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    tar.stdout.pipe(sum.stdin);
    let out = '';
    sum.stdout.on('data', (d) => (out += d));
    sum.on('close', (c) => (c === 0 ? resolve(out.split(' ')[0]) : reject(new Error('sha256sum failed'))));
    tar.on('error', reject);
  });
}

const { packDirectory } = await dist('src/image/tar.js');
const { indexTar } = await dist('src/image/tar-index.js');
const { mergeLayers, writeRootfsLayer } = await dist('src/image/rootfs-layer.js');

const src = await minbaseTar();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-layer-'));
try {
  const tree = path.join(work, 'tree');
  fs.mkdirSync(tree);
  sh(['tar', '-C', tree, '-xf', src]);
  const mb = fs.statSync(src).size / 1e6;
  const out = path.join(work, 'layer.tar');
  const r = { kilnTree: [], tarSha: [], kilnTar: [], shaTar: [], gzip: [] };
  for (let i = 0; i < runs; i++) {
    r.tarSha.push((await timed(() => tarSha(tree))).ms);
    r.kilnTree.push((await timed(() => packDirectory(tree, { rootfs: true, outFile: out }))).ms);
    r.shaTar.push((await timed(async () => sh(['sha256sum', src]))).ms);
    r.kilnTar.push((await timed(async () => writeRootfsLayer(mergeLayers([indexTar(src, 'src')]), 'src', { outFile: out }))).ms);
    if (i < 3) r.gzip.push((await timed(() => pipeline(fs.createReadStream(out), zlib.createGzip({ level: 6 }), fs.createWriteStream(out + '.gz')))).ms);
  }
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  const line = (name, ms, ref) => `${name.padEnd(48)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${(mb / (ms / 1000)).toFixed(0).padStart(5)} MB/s${ref ? `  ratio ${(ms / ref).toFixed(2)}x` : ''}`;
  console.log(`rootfs: ${mb.toFixed(0)} MB, ${runs} runs, medians (gzip: ${r.gzip.length} runs)`);
  console.log(line('tar | sha256sum of the tree (reference)', m.tarSha));
  console.log(line('kiln pack + hash of the tree (rootfs mode)', m.kilnTree, m.tarSha));
  console.log(line('sha256sum of the mmdebstrap tar (reference)', m.shaTar));
  console.log(line('kiln normalise + hash of the mmdebstrap tar', m.kilnTar, m.shaTar));
  console.log(line('gzip -6 of the layer (what compression would add)', m.gzip));
  console.log(`target: kiln pack within 1.5x of tar | sha256sum -> ${m.kilnTree / m.tarSha <= 1.5 ? 'met' : 'NOT met'}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
