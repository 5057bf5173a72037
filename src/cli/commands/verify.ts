import type { CommandDef } from '../command.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { getRelease } from '../../release/index.js';
import { verifyRelease } from '../../image/index.js';

export const verifyCommand: CommandDef = {
  name: 'verify',
  summary: 'rebuild every image of a release from its tags; same digests or a clear diff',
  description: 'Exit status 0 when every image rebuilds to the same digest, 1 otherwise.',
  positionals: [{ name: 'release', required: true, description: 'release name (r3) or number' }],
  options: {},
  json: true,
  examples: ['kiln verify r3'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const store = openStore(spec.dir);
    try {
      const rel = getRelease(store.db, store.oci, ctx.positionals[0] as string);
      const r = await verifyRelease(store, rel);
      if (ctx.json) ctx.outJson(r);
      else {
        const lines = r.services.map((s) =>
          s.note
            ? `${s.service}: ${s.note}`
            : s.ok
              ? `${s.service}: ok ${s.expected}`
              : [`${s.service}: DIFFERENT`, ...s.differences.map((d) => `  ${d}`)].join('\n'),
        );
        lines.push(r.ok ? `${r.release}: every image rebuilds to the same digest` : `${r.release}: verification FAILED`);
        ctx.out(lines.join('\n'));
      }
      return r.ok ? 0 : 1;
    } finally {
      store.db.close();
    }
  },
};
