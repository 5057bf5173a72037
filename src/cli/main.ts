// Entry point of the `kiln` command: finds the verb (command-line.ts: options before it, aliases,
// "did you mean"), parses its options with node's parseArgs, runs it, and turns KilnErrors into a
// clear message and an exit code that means one thing (exit-codes.ts).
import { parseArgs } from 'node:util';
import path from 'node:path';
import { KilnError, KilnErrors } from '../errors.js';
import { printCliError } from './error-output.js';
import { storageError } from '../store/storage-error.js';
import type { CommandContext, CommandDef } from './command.js';
import { commandHelp, groupHelp, mainHelp, usageLine } from './help.js';
import { ALIASES, COMMAND_NAMES, loadAllCommands, loadCommand } from './commands/index.js';
import { VERSION } from '../version.js';
import { sweepAtCommandStart } from './sweep.js';
import { parseCommandLine } from './command-line.js';
import { colourEnabled } from './colour.js';
import { closest } from '../spec/problems.js';
import { EXIT_FAILED, EXIT_USAGE, exitCodeOf } from './exit-codes.js';

export { EXIT_FAILED, EXIT_USAGE } from './exit-codes.js';

/** parseArgs' message, said the way the rest of Kiln says it, with the nearest option named. */
function optionError(err: Error, cmd: CommandDef): KilnError {
  const msg = err.message.replace(/\. To specify.*$/s, '');
  const unknown = /^Unknown option '(-{1,2}[^']*)'/.exec(msg)?.[1];
  if (unknown) {
    const names = [...Object.keys(cmd.options), 'json', 'project', 'help'];
    const near = closest(unknown.replace(/^-+/, ''), names);
    const has = Object.keys(cmd.options).map((o) => `--${o}`).join(', ');
    // No location: the message names the option (a location would print it twice).
    return new KilnError('USAGE', `kiln ${cmd.name} has no option ${unknown}${near ? `; did you mean --${near}?` : ''}`, {
      hint: `${has ? `its options: ${has}; ` : ''}see kiln ${cmd.name} --help`,
    });
  }
  return new KilnError('USAGE', msg, { hint: `see kiln ${cmd.name} --help` });
}

export async function main(argv: string[]): Promise<number> {
  // Hostile by default: whatever Kiln (and the servers and builds it starts) creates is private
  // to its owner unless a mode says otherwise (docs/isolation.md).
  process.umask(0o077);
  const line = parseCommandLine(argv, COMMAND_NAMES, ALIASES);
  const wantsJson = line.globals.json || argv.includes('--json');
  const printError = (e: KilnError): void =>
    printCliError(e, wantsJson, {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      colour: colourEnabled(process.stderr),
    });

  switch (line.kind) {
    case 'main-help':
      process.stdout.write(mainHelp(await loadAllCommands(), VERSION));
      return 0;
    case 'version':
      if (wantsJson) process.stdout.write(JSON.stringify({ version: VERSION }) + '\n');
      else process.stdout.write(`kiln ${VERSION}\n`);
      return 0;
    case 'command-help':
      process.stdout.write(commandHelp(await loadCommand(line.name)));
      return 0;
    case 'group-help':
      process.stdout.write(groupHelp(line.group, await Promise.all(line.commands.map(loadCommand))));
      return 0;
    case 'error':
      printError(line.error);
      return EXIT_USAGE;
    case 'command':
      break;
  }
  const cmd = await loadCommand(line.name);

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
    // An --env before the verb is context (as kubectl's -n): a verb that works on no single
    // environment ignores it, so `alias k='kiln --env dev'` works for `k release list` too.
    // After the verb it is that verb's option, and refused where it has none.
    const args = line.globals.env !== undefined && !('env' in cmd.options) ? line.args.filter((a) => a !== `--env=${line.globals.env}`) : line.args;
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    printError(optionError(err as Error, cmd));
    return EXIT_USAGE;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  const required = cmd.positionals.filter((p) => p.required).length;
  if (parsed.positionals.length < required || parsed.positionals.length > cmd.positionals.length) {
    const missing = cmd.positionals[parsed.positionals.length];
    const extra = parsed.positionals.length - cmd.positionals.length;
    printError(
      new KilnError(
        'USAGE',
        parsed.positionals.length < required
          ? `missing argument <${missing?.name}>: ${missing?.description}`
          : // The surplus is not echoed: it may be a secret typed where a name was expected.
            `too many arguments: kiln ${cmd.name} takes ${cmd.positionals.length || 'no'} argument${cmd.positionals.length === 1 ? '' : 's'}, ${extra} more given`,
        {
          hint: `usage: ${usageLine(cmd)}; ${cmd.name.startsWith('secret ') ? 'a secret\'s value is never an argument: pipe it on standard input; ' : ''}see kiln ${cmd.name} --help`,
        },
      ),
    );
    return EXIT_USAGE;
  }

  const json = values.json === true;
  const ctx: CommandContext = {
    usage: usageLine(cmd).replace(/ \[options\]$/, ''),
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
      return exitCodeOf(err);
    }
    const storage = storageError(err, path.join(ctx.cwd, '.kiln'));
    if (storage) {
      printError(storage);
      return EXIT_FAILED;
    }
    throw err;
  }
}
