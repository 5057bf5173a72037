// From argv to a verb: the options that may come before it (as with git and kubectl), the verb
// itself (one or two words, or an alias), and what is left for the verb's own parser. Pure, so
// the habits it serves are unit-tested without running a command.
import { KilnError } from '../errors.js';
import { closest } from '../spec/problems.js';

/** Options every command takes, before or after the verb. */
export interface GlobalOptions {
  project?: string;
  env?: string;
  json: boolean;
  help: boolean;
  version: boolean;
}

export type CommandLine =
  /** `kiln`, `kiln --help`, `kiln help`. */
  | { kind: 'main-help'; globals: GlobalOptions }
  | { kind: 'version'; globals: GlobalOptions }
  /** `kiln help deploy` (or `kiln deploy --help`, which the verb's parser sees). */
  | { kind: 'command-help'; name: string; globals: GlobalOptions }
  /** `kiln app --help`: the group's verbs, on stdout. */
  | { kind: 'group-help'; group: string; commands: string[]; globals: GlobalOptions }
  /** The verb and its arguments, the global options given before it moved after it. */
  | { kind: 'command'; name: string; args: string[]; globals: GlobalOptions }
  | { kind: 'error'; error: KilnError; globals: GlobalOptions };

/** The global options as `kiln --help` lists them. */
export const GLOBAL_OPTIONS: ReadonlyArray<{ flag: string; short?: string; value?: string; description: string }> = [
  { flag: '--project', short: '-C', value: '<dir>', description: 'run as if started in <dir> (default: the current directory)' },
  { flag: '--env', short: '-e', value: '<env>', description: 'the environment, for every command that works on one' },
  { flag: '--json', description: 'machine-readable output on stdout (an error: {"error": {...}})' },
  { flag: '--help', short: '-h', description: 'show help (of the command, when one is named)' },
  { flag: '--version', description: 'print kiln\'s version' },
];

const GLOBAL_WITH_VALUE: Record<string, 'project' | 'env'> = { '-C': 'project', '--project': 'project', '-e': 'env', '--env': 'env' };

/** Reads the options before the verb; returns them and the index of the first other word. */
function leadingGlobals(argv: string[]): { globals: GlobalOptions; next: number } | { error: KilnError; globals: GlobalOptions } {
  const globals: GlobalOptions = { json: false, help: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    if (a === '--json') globals.json = true;
    else if (a === '--help' || a === '-h') globals.help = true;
    else if (a === '--version') globals.version = true;
    else {
      const eq = a.indexOf('=');
      const [name, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : /^-[Ce]./.test(a) ? [a.slice(0, 2), a.slice(2)] : [a, undefined];
      const key = GLOBAL_WITH_VALUE[name];
      if (!key) {
        const names = GLOBAL_OPTIONS.map((o) => o.flag);
        const near = closest(name.replace(/^-+/, ''), names.map((n) => n.slice(2)));
        return {
          globals,
          error: new KilnError('USAGE', `unknown option ${name} before the command${near ? `; did you mean --${near}?` : ''}`, {
            hint: 'before the command go -C/--project, -e/--env, --json and --help; a command\'s own options go after it (kiln <command> --help)',
          }),
        };
      }
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') {
        return { globals, error: new KilnError('USAGE', `${name} needs a value`, { location: { flag: name }, hint: key === 'env' ? 'kiln --env dev status' : 'kiln -C path/to/project status' }) };
      }
      globals[key] = value;
    }
  }
  return { globals, next: i };
}

/** The verb named by the words at argv[from...], with aliases (`env ls`) resolved. */
function findVerb(words: string[], names: readonly string[], aliases: Readonly<Record<string, string>>): { name: string; used: number } | null {
  const two = words.slice(0, 2).join(' ');
  const one = words[0] ?? '';
  for (const [candidate, used] of [[two, 2], [one, 1]] as const) {
    if (used === 2 && words.length < 2) continue;
    if (names.includes(candidate)) return { name: candidate, used };
    const target = aliases[candidate];
    if (target) return { name: target, used };
  }
  return null;
}

export function parseCommandLine(argv: string[], names: readonly string[], aliases: Readonly<Record<string, string>> = {}): CommandLine {
  const lead = leadingGlobals(argv);
  if ('error' in lead) return { kind: 'error', error: lead.error, globals: lead.globals };
  const { globals, next } = lead;
  const rest = argv.slice(next);
  const first = rest[0];
  if (first === undefined) return globals.version && !globals.help ? { kind: 'version', globals } : { kind: 'main-help', globals };
  if (first === 'version') return { kind: 'version', globals };
  if (first === 'help') {
    const asked = rest.slice(1).filter((w) => !w.startsWith('-'));
    if (!asked.length) return { kind: 'main-help', globals };
    const r = parseCommandLine(asked, names, aliases);
    if (r.kind === 'command') return { kind: 'command-help', name: r.name, globals };
    if (r.kind === 'error' && r.error.code === 'USAGE' && groupOf(asked[0] as string, names).length && asked.length === 1) {
      return { kind: 'group-help', group: asked[0] as string, commands: groupOf(asked[0] as string, names), globals };
    }
    return { ...r, globals } as CommandLine;
  }
  const verb = findVerb(rest, names, aliases);
  if (verb) {
    const tail = rest.slice(verb.used);
    const moved = [
      ...(globals.project !== undefined ? [`--project=${globals.project}`] : []),
      ...(globals.env !== undefined ? [`--env=${globals.env}`] : []),
      ...(globals.json ? ['--json'] : []),
      ...(globals.help ? ['--help'] : []),
    ];
    return { kind: 'command', name: verb.name, args: [...tail, ...moved], globals };
  }
  const group = groupOf(first, names);
  if (group.length) {
    const sub = rest[1];
    const wantsHelp = globals.help || sub === '--help' || sub === '-h';
    if (wantsHelp) return { kind: 'group-help', group: first, commands: group, globals };
    const subs = group.map((c) => c.split(' ')[1] as string);
    const subAliases = Object.keys(aliases).filter((a) => a.startsWith(first + ' ')).map((a) => a.split(' ')[1] as string);
    const near = sub === undefined || sub.startsWith('-') ? undefined : closest(sub, [...subs, ...subAliases]);
    const nearName = near ? (findVerb([first, near], names, aliases)?.name ?? `${first} ${near}`) : undefined;
    return {
      kind: 'error',
      globals,
      error: new KilnError(
        'USAGE',
        sub === undefined || sub.startsWith('-')
          ? `kiln ${first} needs a command: ${subs.join(', ')}`
          : `unknown command "kiln ${first} ${sub}"${nearName ? `; did you mean "kiln ${nearName}"?` : ''}`,
        { hint: `kiln ${first} commands: ${subs.join(', ')}; see kiln ${first} --help` },
      ),
    };
  }
  const tops = [...new Set(names.map((c) => c.split(' ')[0] as string)), 'help', 'version'];
  const near = closest(first, tops);
  const nearCmd = near && !names.includes(near) && groupOf(near, names).length && rest[1] ? findVerb([near, rest[1]], names, aliases)?.name : undefined;
  return {
    kind: 'error',
    globals,
    error: new KilnError('USAGE', `unknown command "${first}"${near ? `; did you mean "kiln ${nearCmd ?? near}"?` : ''}`, {
      hint: `commands: ${tops.filter((t) => t !== 'help' && t !== 'version').join(', ')}; see kiln --help`,
    }),
  };
}

/** The full names of a group's verbs ("app" -> ["app tag", "app list"]). */
export function groupOf(word: string, names: readonly string[]): string[] {
  return names.filter((n) => n.startsWith(word + ' '));
}
