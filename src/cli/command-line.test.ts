// Habits from git and kubectl (issue 13, item 3), checked on the parser alone: options before
// the verb, aliases, "did you mean", and an unknown subcommand as an error rather than a listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from './command-line.js';
import { ALIASES, COMMAND_NAMES } from './commands/index.js';

const parse = (line: string) => parseCommandLine(line.split(' ').filter(Boolean), COMMAND_NAMES, ALIASES);

test('global options before the verb are moved after it, where the verb\'s parser reads them', () => {
  assert.deepEqual(parse('-C /srv/shop status'), { kind: 'command', name: 'status', args: ['--project=/srv/shop'], globals: { json: false, help: false, version: false, project: '/srv/shop' } });
  const r = parse('--env dev --json status');
  assert.equal(r.kind, 'command');
  assert.deepEqual(r.kind === 'command' && r.args, ['--env=dev', '--json']);
  const eq = parse('--project=/p -e staging deploy r2 --dry-run');
  assert.deepEqual(eq.kind === 'command' && [eq.name, eq.args], ['deploy', ['r2', '--dry-run', '--project=/p', '--env=staging']]);
  const glued = parse('-C/p release list');
  assert.deepEqual(glued.kind === 'command' && [glued.name, glued.args], ['release list', ['--project=/p']]);
});

test('ls and rm are the verbs they stand for', () => {
  for (const [line, name] of [['env ls', 'env list'], ['env rm x', 'env destroy'], ['secret rm a --env dev', 'secret remove'], ['secret ls', 'secret list'], ['release ls', 'release list']] as const) {
    const r = parse(line);
    assert.equal(r.kind === 'command' ? r.name : r.kind, name, line);
  }
});

test('a mistyped verb, subcommand or global option is a usage error naming the nearest one', () => {
  const verb = parse('deplyo r1 --env dev');
  assert.equal(verb.kind, 'error');
  assert.match(verb.kind === 'error' ? verb.error.message : '', /unknown command "deplyo"; did you mean "kiln deploy"\?/);
  const sub = parse('env lsit');
  assert.match(sub.kind === 'error' ? sub.error.message : '', /unknown command "kiln env lsit"; did you mean "kiln env list"\?/);
  const group = parse('relase create');
  assert.match(group.kind === 'error' ? group.error.message : '', /did you mean "kiln release create"\?/);
  const opt = parse('--jsno status');
  assert.equal(opt.kind === 'error' && opt.error.code, 'USAGE');
  assert.match(opt.kind === 'error' ? opt.error.message : '', /did you mean --json\?/);
  const noValue = parse('-C');
  assert.match(noValue.kind === 'error' ? noValue.error.message : '', /-C needs a value/);
});

test('a group without its subcommand is an error (exit 2, stderr); with --help it lists the group', () => {
  const bare = parse('env');
  assert.equal(bare.kind, 'error');
  assert.match(bare.kind === 'error' ? bare.error.message : '', /kiln env needs a command: create, list, destroy/);
  assert.deepEqual(parse('env --help').kind, 'group-help');
  assert.deepEqual(parse('help env').kind, 'group-help');
  const help = parse('help deploy');
  assert.deepEqual(help.kind === 'command-help' && help.name, 'deploy');
  assert.equal(parse('--help').kind, 'main-help');
  assert.equal(parse('').kind, 'main-help');
  assert.equal(parse('--version').kind, 'version');
});
