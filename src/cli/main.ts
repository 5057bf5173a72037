// Entry point of the `kiln` command: finds the verb, parses its options with node's parseArgs,
// runs it, and turns KilnErrors into a clear message and a non-zero exit.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { KilnError, KilnErrors } from '../errors.js';
import { printCliError } from './error-output.js';
import { storageError } from '../store/storage-error.js';
import type { CommandContext, CommandDef } from './command.js';
import { commandHelp, mainHelp } from './help.js';
import { COMMAND_NAMES, loadAllCommands, loadCommand } from './commands/index.js';
import { VERSION } from '../version.js';
import { sweepAtCommandStart } from './sweep.js';

/** Exit codes: 0 ok, 1 the operation failed, 2 the command line was wrong. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

async function findCommand(argv: string[]): Promise<{ cmd: CommandDef; rest: string[] } | null> {
  // Longest match first: "release create" before "release".
  const words = argv.filter((a) => !a.startsWith('-')).slice(0, 2);
  for (let n = words.length; n >= 1; n--) {
    const name = words.slice(0, n).join(' ');
    if (COMMAND_NAMES.includes(name)) {
      const rest = [...argv];
      for (const w of words.slice(0, n)) rest.splice(rest.indexOf(w), 1);
      return { cmd: await loadCommand(name), rest };
    }
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  // Hostile by default: whatever Kiln (and the servers and builds it starts) creates is private
  // to its owner unless a mode says otherwise (docs/isolation.md).
  process.umask(0o077);
  const wantsJson = argv.includes('--json');
  const printError = (e: KilnError): void =>
    printCliError(e, wantsJson, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });

  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const sub = argv[0] === 'help' ? await findCommand(argv.slice(1)) : null;
    process.stdout.write(sub ? commandHelp(sub.cmd) : mainHelp(await loadAllCommands(), VERSION));
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(`kiln ${VERSION}\n`);
    return 0;
  }

  const found = await findCommand(argv);
  if (!found) {
    const group = (await loadAllCommands()).filter((c) => c.name.startsWith((argv[0] ?? '') + ' '));
    if (group.length) {
      // "kiln app" alone: show the group's verbs.
      process.stdout.write(group.map((c) => `kiln ${c.name.padEnd(18)} ${c.summary}`).join('\n') + '\n');
      return argv.includes('--help') || argv.includes('-h') ? 0 : EXIT_USAGE;
    }
    printError(
      new KilnError('USAGE', `unknown command "${argv.filter((a) => !a.startsWith('-')).join(' ')}"`, {
        hint: `commands: ${[...new Set(COMMAND_NAMES.map((c) => c.split(' ')[0]))].join(', ')}; see kiln --help`,
      }),
    );
    return EXIT_USAGE;
  }
  const { cmd, rest } = found;

  type ParseOpt = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
  const options: Record<string, ParseOpt> = {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
    project: { type: 'string', short: 'C' },
  };
  for (const [name, o] of Object.entries(cmd.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    printError(new KilnError('USAGE', (err as Error).message.replace(/\. To specify.*$/s, ''), { hint: `see kiln ${cmd.name} --help` }));
    return EXIT_USAGE;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  if (values.json && !cmd.json) {
    printError(new KilnError('USAGE', `kiln ${cmd.name} has no --json output`, { location: { flag: '--json' } }));
    return EXIT_USAGE;
  }
  const required = cmd.positionals.filter((p) => p.required).length;
  if (parsed.positionals.length < required || parsed.positionals.length > cmd.positionals.length) {
    const missing = cmd.positionals[parsed.positionals.length];
    printError(
      new KilnError(
        'USAGE',
        parsed.positionals.length < required
          ? `missing argument <${missing?.name}>: ${missing?.description}`
          : `too many arguments: ${parsed.positionals.slice(cmd.positionals.length).join(' ')}`,
        { hint: `see kiln ${cmd.name} --help` },
      ),
    );
    return EXIT_USAGE;
  }

  const json = values.json === true;
  const ctx: CommandContext = {
    cwd: path.resolve(typeof values.project === 'string' ? values.project : process.cwd()),
    json,
    options: values,
    positionals: parsed.positionals,
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    outJson: (v) => process.stdout.write(JSON.stringify(v, null, 2) + '\n'),
    progress: (t) => {
      if (!json) process.stderr.write(t.endsWith('\n') ? t : t + '\n');
    },
  };
  try {
    sweepAtCommandStart(ctx.cwd);
    return await cmd.run(ctx);
  } catch (err) {
    if (err instanceof KilnErrors || err instanceof KilnError) {
      printError(err);
      return err.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILED;
    }
    const storage = storageError(err, path.join(ctx.cwd, '.kiln'));
    if (storage) {
      printError(storage);
      return EXIT_FAILED;
    }
    throw err;
  }
}
