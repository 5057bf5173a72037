// The kiln(1) man page in roff, generated from the command table like --help and completion:
// `kiln man | man -l -` reads it, `kiln man > kiln.1` installs it.
import type { CommandDef } from './command.js';
import { GLOBAL_OPTIONS } from './command-line.js';
import { optionRows, usageLine } from './help.js';

/** Text safe in roff: backslashes and leading dots or quotes cannot become requests. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    // Plain ASCII in, so any roff reads it (groff, mandoc): other characters as \[uXXXX].
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}]`)
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

export function manPage(commands: CommandDef[], aliases: Readonly<Record<string, string>>, version: string): string {
  const out: string[] = [
    `.TH KILN 1 "" "kiln ${esc(version)}" "Kiln manual"`,
    '.SH NAME',
    'kiln \\- immutable infrastructure: new servers from tagged parts, traffic moved in one step',
    '.SH SYNOPSIS',
    '.B kiln',
    '[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIarguments\\fR] [\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    esc('Build side (init, app, release, os, image, data) works on .kiln/ without a server; run side (deploy, status, rollback, env, logs) talks to the control plane started with kiln server. Every command takes --help and --json.'),
    '.SH GLOBAL OPTIONS',
    esc('These go before or after the command.'),
  ];
  for (const o of GLOBAL_OPTIONS) {
    out.push('.TP', `\\fB${esc(`${o.short ? o.short + ', ' : ''}${o.flag}`)}\\fR${o.value ? ` \\fI${esc(o.value)}\\fR` : ''}`, esc(o.description));
  }
  out.push('.SH COMMANDS');
  for (const c of commands) {
    out.push('.SS', esc(usageLine(c)), esc(c.summary));
    const also = Object.entries(aliases).filter(([, n]) => n === c.name).map(([a]) => `kiln ${a}`);
    if (also.length) out.push('.PP', esc(`Also: ${also.join(', ')}.`));
    if (c.description) out.push('.PP', esc(c.description.replace(/\n/g, ' ')));
    for (const p of c.positionals) out.push('.TP', `\\fI${esc(p.name)}\\fR`, esc(p.description));
    for (const [flag, d] of optionRows(c).slice(0, -3)) out.push('.TP', `\\fB${esc(flag)}\\fR`, esc(d));
    if (c.examples?.length) {
      out.push('.PP', 'Examples:', '.RS', '.nf');
      for (const e of c.examples) out.push(esc(e));
      out.push('.fi', '.RE');
    }
  }
  out.push(
    '.SH EXIT STATUS',
    '.TP', '0', 'done (or, with \\fB\\-\\-exit\\-code\\fR, nothing differs)',
    '.TP', '1', esc('the operation failed, or a name it was given does not exist (environment, service, release, store)'),
    '.TP', '2', esc('the command line is wrong: unknown command or option, missing argument or --env'),
    '.TP', '3', esc('differences found: release diff --exit-code, deploy --dry-run --exit-code'),
    '.SH ENVIRONMENT',
    '.TP', '.B NO_COLOR', esc('when set (and not empty), no colour; colour is only ever used on a terminal'),
    '.SH SEE ALSO',
    esc('docs/cli.md, docs/kiln-yaml.md, kiln schema'),
  );
  return out.join('\n') + '\n';
}
