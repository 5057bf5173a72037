// `--env`: every command that works on one environment takes it the same way, and none picks one
// silently. A missing --env is a command-line error (exit 2) that lists the environments; an
// environment that does not exist is ENV_NOT_FOUND (exit 1) from the lookup (deploy/plan.ts).
import { KilnError } from '../errors.js';
import { loadProjectSpec } from '../env/project-spec.js';
import type { CommandContext } from './command.js';

export function requireEnv(ctx: CommandContext): string {
  const env = ctx.options.env;
  if (typeof env === 'string' && env !== '') return env;
  let names: string[] = [];
  try {
    names = Object.keys(loadProjectSpec(ctx.cwd).environments);
  } catch {
    /* kiln.yaml does not load: the command reports that once it reads it */
  }
  // The usage line, not the arguments given: one of them may be a value pasted by mistake.
  const example = `${ctx.usage} --env ${names[0] ?? 'dev'}`;
  throw new KilnError('USAGE', 'missing --env <env>', {
    location: { flag: '--env' },
    hint: `${names.length ? `environments: ${names.join(', ')}; ` : ''}e.g. ${example}`,
  });
}
