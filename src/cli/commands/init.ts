import fs from 'node:fs';
import path from 'node:path';
import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { SPEC_FILE, findSpecFile, loadSpec } from '../../spec/load.js';
import { initKilnDir } from '../../store/init.js';
import { starterSpec } from '../starter-spec.js';

/** kiln.yaml here or above; else a starter written here (never over an existing file). */
function specFileOrStarter(cwd: string): { file: string; written: boolean } {
  try {
    return { file: findSpecFile(cwd), written: false };
  } catch (e) {
    if (!(e instanceof KilnError) || e.code !== 'SPEC_NOT_FOUND') throw e;
  }
  const file = path.join(cwd, SPEC_FILE);
  // 'wx': two inits at once, or a file made meanwhile, never lose what is there.
  fs.writeFileSync(file, starterSpec(cwd), { flag: 'wx', mode: 0o644 });
  return { file, written: true };
}

export const initCommand: CommandDef = {
  name: 'init',
  summary: 'create .kiln/ (state.db, oci/, run/token) next to kiln.yaml, and a starter kiln.yaml if there is none',
  description:
    'Validates kiln.yaml first: an invalid file creates nothing. Without a kiln.yaml here or above, writes\n' +
    'a starter one (one service, this directory as its app, a process environment dev) and says so.\n' +
    'Running it again changes nothing.',
  positionals: [],
  options: {},
  json: true,
  examples: ['kiln init', 'kiln -C path/to/app init'],
  async run(ctx) {
    const { file, written } = specFileOrStarter(ctx.cwd);
    if (written) ctx.progress(`wrote ${file}: a starter (one service "web", environment dev) — edit it; every key is in docs/kiln-yaml.md`);
    const spec = loadSpec(file);
    const r = initKilnDir(spec.dir);
    if (ctx.json) ctx.outJson({ project: spec.project, kilnDir: r.kilnDir, created: r.created, specFile: file, specWritten: written });
    else ctx.out(r.created ? `initialised ${r.kilnDir} for project ${spec.project}` : `${r.kilnDir} already initialised`);
    return 0;
  },
};
