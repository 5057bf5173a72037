import type { CommandDef } from '../command.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { initKilnDir } from '../../store/init.js';

export const initCommand: CommandDef = {
  name: 'init',
  summary: 'create .kiln/ (state.db, oci/, run/token) next to kiln.yaml',
  description: 'Validates kiln.yaml first: an invalid file creates nothing. Running it again changes nothing.',
  positionals: [],
  options: {},
  json: true,
  examples: ['kiln init'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const r = initKilnDir(spec.dir);
    if (ctx.json) ctx.outJson({ project: spec.project, kilnDir: r.kilnDir, created: r.created });
    else ctx.out(r.created ? `initialised ${r.kilnDir} for project ${spec.project}` : `${r.kilnDir} already initialised`);
    return 0;
  },
};
