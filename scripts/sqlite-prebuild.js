#!/usr/bin/env node
// Puts a prebuilt better-sqlite3 binary where an app's `npm ci` finds it, packed from Kiln's
// own node_modules (the same native module, built by Kiln's `npm ci` for this Node).
//
// Why: better-sqlite3 installs through prebuild-install, which downloads a binary made for the
// running Node from the project's release host, or else compiles the module from source
// (node-gyp, several minutes on two cores, and it needs Node's headers). A machine without a
// route to that host would compile it on every `kiln app tag` of the shop's api. prebuild-install
// first looks in a local directory (here the api's .prebuilds/, which the example's kiln.yaml names
// with npm_config_better_sqlite3_local_prebuilds and leaves out of the artifact): this script
// fills it. It does so only when the versions match; otherwise it says so and `npm ci` goes its
// usual way. Usage: node scripts/sqlite-prebuild.js <app directory> (default examples/shop/apps/api)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Returns what it did, as one line; throws only on a broken input (an unreadable lock file). */
export function placeSqlitePrebuild(appDir) {
  const lockFile = path.join(appDir, 'package-lock.json');
  if (!fs.existsSync(lockFile)) return `${appDir}: no package-lock.json, nothing to do`;
  const wanted = JSON.parse(fs.readFileSync(lockFile, 'utf8')).packages?.['node_modules/better-sqlite3']?.version;
  if (!wanted) return `${appDir}: better-sqlite3 is not in its package-lock.json, nothing to do`;
  const own = path.join(repo, 'node_modules', 'better-sqlite3');
  let have;
  try {
    have = JSON.parse(fs.readFileSync(path.join(own, 'package.json'), 'utf8')).version;
  } catch {
    return `Kiln's node_modules has no better-sqlite3 (run npm ci in ${repo}): npm ci of ${appDir} will download or compile it`;
  }
  const binary = path.join(own, 'build', 'Release', 'better_sqlite3.node');
  if (have !== wanted || !fs.existsSync(binary)) {
    return `Kiln has better-sqlite3 ${have}, ${appDir} locks ${wanted}: no prebuilt binary placed (npm ci will download or compile it)`;
  }
  // The name prebuild-install looks for: <name>-v<version>-<runtime>-v<ABI>-<platform>-<arch>.tar.gz
  const name = `better-sqlite3-v${wanted}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const dir = path.join(appDir, '.prebuilds');
  const target = path.join(dir, name);
  // Same bytes for the same binary (fixed order, owner and times; gzip without a timestamp), so
  // placing it again changes nothing that a source digest would see.
  const tar = spawnSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '-C', own, 'build/Release/better_sqlite3.node'], { maxBuffer: 256 << 20 });
  if (tar.status !== 0) throw new Error(`tar failed: ${String(tar.stderr).trim() || `exit ${tar.status}`}`);
  const bytes = zlib.gzipSync(tar.stdout, { level: 6 });
  if (fs.existsSync(target) && fs.readFileSync(target).equals(bytes)) return `${path.relative(process.cwd(), target) || target} is up to date`;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes, { mode: 0o644 });
  fs.renameSync(tmp, target);
  return `placed ${path.relative(process.cwd(), target) || target} (better-sqlite3 ${wanted} for Node ABI ${process.versions.modules}, from Kiln's own build)`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const appDir = path.resolve(process.argv[2] ?? path.join(repo, 'examples', 'shop', 'apps', 'api'));
  try {
    console.log(placeSqlitePrebuild(appDir));
  } catch (e) {
    console.error(`sqlite-prebuild: ${e.message}`);
    process.exit(1);
  }
}
