// Help text generated from the command definitions, so `--help` never drifts from the parser.
import type { CommandDef } from './command.js';

export function commandHelp(cmd: CommandDef): string {
  const pos = cmd.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  const lines = [`kiln ${cmd.name}${pos ? ' ' + pos : ''}${Object.keys(cmd.options).length ? ' [options]' : ''}`, '', cmd.summary];
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(22)} ${p.description}`);
  }
  lines.push('', 'Options:');
  const opts: Array<[string, string]> = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' ' + (o.value ?? '<value>') : ''}`;
    return [flag, o.description + (o.default !== undefined ? ` (default: ${o.default})` : '')];
  });
  if (cmd.json) opts.push(['--json', 'machine-readable output on stdout']);
  opts.push(['-C, --project <dir>', 'run as if started in <dir> (default: current directory)']);
  opts.push(['-h, --help', 'show this help']);
  for (const [f, d] of opts) lines.push(`  ${f.padEnd(22)} ${d}`);
  if (cmd.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of cmd.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}

export function mainHelp(commands: CommandDef[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    `kiln ${version} — immutable infrastructure: new servers from tagged parts, traffic moved in one step`,
    '',
    'Usage: kiln <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'Every command takes --help; read commands take --json.',
    'Build side (init, app, release) works on .kiln/ without a server; run side (deploy, status,',
    'rollback) talks to the control plane started with `kiln server`.',
  ];
  return lines.join('\n') + '\n';
}
