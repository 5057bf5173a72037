import { statSync } from 'node:fs';
import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { environmentOf } from '../../deploy/plan.js';
import { loadProjectSpec } from '../../env/project-spec.js';
import { listSecrets, setSecret } from '../../secrets/secrets.js';
import { findKilnDir } from '../project.js';

function envOption(v: unknown): string {
  if (typeof v !== 'string') throw new KilnError('USAGE', 'missing --env <env>', { location: { flag: '--env' } });
  return v;
}

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) {
    throw new KilnError('USAGE', 'the secret value is read from standard input, never from an argument', {
      hint: 'kiln secret set <name> --env <env> < file   (or: printf %s "$VALUE" | kiln secret set …)',
    });
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const secretSetCommand: CommandDef = {
  name: 'secret set',
  summary: 'store a secret for an environment from standard input (a file only its servers can read; never echoed)',
  description:
    'Servers get a secret as the path of its file (`${secret.<name>}` in flags), never its value:\n' +
    'no secret is in ps, a manifest, a log line or the state database. Setting it again replaces it.',
  positionals: [{ name: 'name', required: true, description: 'secret name, e.g. orders_url' }],
  options: { env: { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' } },
  examples: ['kiln secret set orders_url --env prod < orders-url.txt'],
  async run(ctx) {
    const env = envOption(ctx.options.env);
    environmentOf(loadProjectSpec(ctx.cwd), env);
    const file = setSecret(findKilnDir(ctx.cwd), env, ctx.positionals[0] as string, await readStdin());
    ctx.out(`secret ${ctx.positionals[0]} set for ${env} (${file}, mode 0${(statSync(file).mode & 0o777).toString(8)})`);
    return 0;
  },
};

export const secretListCommand: CommandDef = {
  name: 'secret list',
  summary: 'names of the secrets set for an environment (never their values)',
  positionals: [],
  options: { env: { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' } },
  json: true,
  async run(ctx) {
    const env = envOption(ctx.options.env);
    const names = listSecrets(findKilnDir(ctx.cwd), env);
    if (ctx.json) ctx.outJson(names);
    else ctx.out(names.length ? names.join('\n') : `no secrets set for ${env}`);
    return 0;
  },
};
