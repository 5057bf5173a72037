// `kiln env create|list|destroy`: environments as values (src/env). create and destroy go
// through the control plane (they start and stop servers); list reads state.db.
import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { ApiClient } from '../../server/client.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { RuntimeState } from '../../store/runtime-state.js';
import { formatEnvList, listEnvironments } from '../../env/list.js';
import { withCreatedEnvironments } from '../../env/registry.js';
import { findKilnDir } from '../project.js';

export const envCreateCommand: CommandDef = {
  name: 'env create',
  summary: 'a new, isolated environment running a release: own clusters, names, logs, flags and data replicas',
  description:
    'Its settings (runtime, scale, flag values) are copied from --like (default: the first kiln.yaml\n' +
    'environment with runtime process), and so are its secret files. With --data-from, each data store\n' +
    'is a replica of that environment\'s latest snapshot (one is taken if there is none; --snapshot-now\n' +
    'always takes one) with the release\'s changelog applied; the source is only read. Then the release\n' +
    'is deployed into it as by kiln deploy. If anything fails, everything made is destroyed again.',
  positionals: [{ name: 'name', required: true, description: 'environment name, e.g. test-r7 ([a-z0-9-])' }],
  options: {
    release: { type: 'string', short: 'r', value: '<release>', description: 'release to run in it, e.g. r7 (required)' },
    like: { type: 'string', value: '<env>', description: 'environment whose settings are copied' },
    'data-from': { type: 'string', value: '<env>', description: 'replicate the data stores of this environment' },
    'snapshot-now': { type: 'boolean', description: 'take a new snapshot of --data-from instead of using its latest' },
  },
  json: true,
  examples: ['kiln env create test-r7 --release r7 --data-from prod', 'kiln env create try-r8 --release r8 --like staging'],
  async run(ctx) {
    const release = ctx.options.release;
    if (typeof release !== 'string') throw new KilnError('USAGE', 'missing --release <release>', { location: { flag: '--release' } });
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const body = {
      name: ctx.positionals[0],
      release,
      ...(typeof ctx.options.like === 'string' ? { like: ctx.options.like } : {}),
      ...(typeof ctx.options['data-from'] === 'string' ? { dataFrom: ctx.options['data-from'] } : {}),
      ...(ctx.options['snapshot-now'] === true ? { freshSnapshot: true } : {}),
    };
    const r = await client.stream<{ env: string; release: string; like: string; replicas: unknown[] }>('/v1/env/create', body, (e) => ctx.progress(`  ${e.message}`));
    if (ctx.json) ctx.outJson(r);
    else ctx.out(`environment ${r.env} runs ${r.release} (like ${r.like}${r.replicas.length ? `, ${r.replicas.length} data replica(s)` : ''})`);
    return 0;
  },
};

export const envListCommand: CommandDef = {
  name: 'env list',
  summary: 'environments (kiln.yaml\'s and created ones) and what runs in each',
  positionals: [],
  options: {},
  json: true,
  examples: ['kiln env list', 'kiln env list --json'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const store = openStore(spec.dir);
    try {
      const list = listEnvironments(withCreatedEnvironments(spec, store.db), new RuntimeState(store.db));
      if (ctx.json) ctx.outJson(list);
      else ctx.out(formatEnvList(list));
      return 0;
    } finally {
      store.db.close();
    }
  },
};

export const envDestroyCommand: CommandDef = {
  name: 'env destroy',
  summary: 'remove a created environment: servers, containers, routes, DNS names, data replicas, secrets, logs',
  description:
    'Only environments made with kiln env create: one written in kiln.yaml is refused (its data may be\n' +
    'the real thing); kiln down --env <env> stops its servers.',
  positionals: [{ name: 'name', required: true, description: 'the created environment' }],
  options: {},
  json: true,
  examples: ['kiln env destroy test-r7'],
  async run(ctx) {
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const r = await client.stream<{ env: string; groups: string[]; removed: string[] }>('/v1/env/destroy', { name: ctx.positionals[0] }, (e) => ctx.progress(`  ${e.message}`));
    if (ctx.json) ctx.outJson(r);
    else ctx.out(`environment ${r.env} destroyed (${r.groups.length} group(s), ${r.removed.length} director${r.removed.length === 1 ? 'y' : 'ies'} removed)`);
    return 0;
  },
};
