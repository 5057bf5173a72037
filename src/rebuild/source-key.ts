// What an app build depends on, as one digest: every file of the source directory (path, mode,
// bytes; .git, .kiln and node_modules are left out exactly as the build's scratch copy leaves
// them out), the build command, output and exclude settings, and where the build runs. When it
// equals the key recorded for the stream's head, rebuilding cannot give other content, so the
// build is skipped: that is what makes a no-op `kiln rebuild` fast.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ServiceSpec } from '../spec/types.js';

const SKIP = new Set(['.git', '.kiln', 'node_modules']);

export function sourceKey(srcDir: string, svc: ServiceSpec, buildsIn: string | null): string {
  const h = crypto.createHash('sha256');
  const buildEnv = Object.keys(svc.app.buildEnv).length ? { buildEnv: svc.app.buildEnv } : {}; // absent: keys made before build-env stay valid
  h.update(JSON.stringify({ build: svc.app.build ?? null, output: svc.app.output ?? null, exclude: svc.app.exclude, buildsIn, ...buildEnv }));
  const walk = (dir: string, rel: string): void => {
    const names = fs.readdirSync(dir).sort();
    for (const name of names) {
      if (SKIP.has(name)) continue;
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) {
        h.update(`d\0${r}\0${st.mode & 0o777}\0`);
        walk(abs, r);
      } else if (st.isSymbolicLink()) {
        h.update(`l\0${r}\0${fs.readlinkSync(abs)}\0`);
      } else if (st.isFile()) {
        h.update(`f\0${r}\0${st.mode & 0o777}\0${st.size}\0`);
        h.update(fs.readFileSync(abs));
      }
    }
  };
  walk(srcDir, '');
  return 'sha256:' + h.digest('hex');
}
