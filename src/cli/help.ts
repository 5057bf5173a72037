// Help text generated from the command definitions, so `--help` never drifts from the parser.
// The man page (man.ts) and shell completion (completion.ts) come from the same table.
import type { CommandDef } from './command.js';
import { GLOBAL_OPTIONS } from './command-line.js';
import { aliasesOf } from './commands/index.js';

/** "kiln deploy <release> [options]". */
export function usageLine(cmd: CommandDef): string {
  const pos = cmd.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  return `kiln ${cmd.name}${pos ? ' ' + pos : ''} [options]`;
}

/** Each option as [flags, description], the ones every command takes last. */
export function optionRows(cmd: CommandDef): Array<[string, string]> {
  const rows: Array<[string, string]> = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' ' + (o.value ?? '<value>') : ''}`;
    return [flag, o.description + (o.default !== undefined ? ` (default: ${o.default})` : '')];
  });
  rows.push(['--json', 'machine-readable output on stdout']);
  rows.push(['-C, --project <dir>', 'run as if started in <dir> (default: current directory)']);
  rows.push(['-h, --help', 'show this help']);
  return rows;
}

export function commandHelp(cmd: CommandDef): string {
  const lines = [usageLine(cmd), '', cmd.summary];
  const aliases = aliasesOf(cmd.name);
  if (aliases.length) lines.push('', `Also: ${aliases.map((a) => `kiln ${a}`).join(', ')}`);
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(22)} ${p.description}`);
  }
  lines.push('', 'Options:');
  for (const [f, d] of optionRows(cmd)) lines.push(`  ${f.padEnd(22)} ${d}`);
  if (cmd.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of cmd.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}

/** `kiln app --help`: the verbs of one group. */
export function groupHelp(group: string, commands: CommandDef[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [`kiln ${group} <command> [arguments] [options]`, '', 'Commands:', ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`), '', `kiln ${group} <command> --help shows one.`].join('\n') + '\n';
}

export function mainHelp(commands: CommandDef[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    `kiln ${version} — immutable infrastructure: new servers from tagged parts, traffic moved in one step`,
    '',
    'Usage: kiln [global options] <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'Global options (before or after the command):',
    ...GLOBAL_OPTIONS.map((o) => `  ${`${o.short ? o.short + ', ' : ''}${o.flag}${o.value ? ' ' + o.value : ''}`.padEnd(width)} ${o.description}`),
    '',
    'Every command takes --help and --json. Aliases: ls for list, rm for remove/destroy (kiln env ls).',
    'Exit codes: 0 done, 1 failed, 2 wrong command line, 3 differences found (--exit-code).',
    'Build side (init, app, release) works on .kiln/ without a server; run side (deploy, status,',
    'rollback) talks to the control plane started with `kiln server`.',
  ];
  return lines.join('\n') + '\n';
}
