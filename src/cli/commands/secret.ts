// `kiln secret set|list|remove`: secrets are files under .kiln/secrets/<env>/ (src/secrets). The
// value only ever comes from standard input, and no output or error shows it.
import { statSync } from 'node:fs';
import type { CommandContext, CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { environmentOf } from '../../spec/lookup.js';
import { loadProjectSpec } from '../../env/project-spec.js';
import { listSecrets, removeSecret, setSecret } from '../../secrets/secrets.js';
import { openStateDb } from '../../store/state-db.js';
import { RuntimeState } from '../../store/runtime-state.js';
import { namedByGroups } from '../../deploy/secret-versions.js';
import { findKilnDir } from '../project.js';
import { requireEnv } from '../env-option.js';

const envOpt = { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' } as const;

/** The environment, checked against kiln.yaml and the created ones (ENV_NOT_FOUND otherwise). */
function checkedEnv(ctx: CommandContext): string {
  const env = requireEnv(ctx);
  environmentOf(loadProjectSpec(ctx.cwd), env);
  return env;
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
  options: { env: envOpt },
  json: true,
  examples: ['kiln secret set orders_url --env prod < orders-url.txt'],
  async run(ctx) {
    const env = checkedEnv(ctx);
    const name = ctx.positionals[0] as string;
    const file = setSecret(findKilnDir(ctx.cwd), env, name, await readStdin());
    const mode = `0${(statSync(file).mode & 0o777).toString(8)}`;
    if (ctx.json) ctx.outJson({ name, env, file, mode });
    else ctx.out(`secret ${name} set for ${env} (${file}, mode ${mode})`);
    return 0;
  },
};

export const secretListCommand: CommandDef = {
  name: 'secret list',
  summary: 'names of the secrets set for an environment (never their values)',
  positionals: [],
  options: { env: envOpt },
  json: true,
  examples: ['kiln secret list --env prod'],
  async run(ctx) {
    const env = checkedEnv(ctx);
    const names = listSecrets(findKilnDir(ctx.cwd), env);
    if (ctx.json) ctx.outJson(names);
    else ctx.out(names.length ? names.join('\n') : `no secrets set for ${env}`);
    return 0;
  },
};

export const secretRemoveCommand: CommandDef = {
  name: 'secret remove',
  summary: 'remove a secret of an environment (servers already running keep the version they read)',
  description:
    'The secret\'s file goes at once. The version files that a running or kept server group names stay\n' +
    'until a deploy no longer needs them, so running servers and kiln rollback keep working; the next\n' +
    'deploy whose flags name the secret is refused until it is set again.',
  positionals: [{ name: 'name', required: true, description: 'secret name' }],
  options: { env: envOpt },
  json: true,
  examples: ['kiln secret remove orders_url --env dev', 'kiln secret rm orders_url --env dev'],
  async run(ctx) {
    const env = checkedEnv(ctx);
    const name = ctx.positionals[0] as string;
    const kilnDir = findKilnDir(ctx.cwd);
    const db = openStateDb(kilnDir);
    let r;
    try {
      r = removeSecret(kilnDir, env, name, namedByGroups(new RuntimeState(db), env));
    } finally {
      db.close();
    }
    if (ctx.json) ctx.outJson({ name, env, removed: r.removed, keptVersions: r.kept });
    else ctx.out(`secret ${name} removed from ${env}${r.kept ? ` (${r.kept} version(s) kept while server groups use them)` : ''}`);
    return 0;
  },
};
