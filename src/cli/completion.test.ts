// Completion scripts and the man page come from the command table: a real bash completes verbs,
// aliases and options from the generated script, and groff reads the generated page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { completionScript } from './completion.js';
import { manPage } from './man.js';
import { ALIASES, COMMAND_NAMES, loadAllCommands } from './commands/index.js';

/** What bash's completion offers for `line` (the cursor at its end). */
function bashComplete(script: string, line: string): string[] {
  const words = line.split(' ');
  const prog = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kiln; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', prog], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

test('bash completion offers the verbs, a group\'s subcommands with their aliases, and a verb\'s options', async () => {
  const script = completionScript('bash', { commands: await loadAllCommands(), aliases: ALIASES });
  assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0, 'valid bash');
  assert.deepEqual(bashComplete(script, 'kiln de'), ['deploy']);
  assert.deepEqual(bashComplete(script, 'kiln env '), ['create', 'destroy', 'list', 'ls', 'rm']);
  assert.deepEqual(bashComplete(script, 'kiln secret r'), ['remove', 'rm']);
  assert.deepEqual(bashComplete(script, 'kiln deploy r1 --d'), ['--dry-run']);
  // Options before the verb, with their values, are skipped when finding it.
  assert.deepEqual(bashComplete(script, 'kiln -C /tmp --env dev release c'), ['create']);
  assert.deepEqual(bashComplete(script, 'kiln env ls --j'), ['--json']);
});

test('zsh and fish scripts name every verb', async () => {
  const commands = await loadAllCommands();
  for (const shell of ['zsh', 'fish'] as const) {
    const script = completionScript(shell, { commands, aliases: ALIASES });
    for (const name of COMMAND_NAMES) assert.ok(script.includes(name.split(' ').at(-1) as string), `${shell}: ${name}`);
  }
  assert.match(completionScript('fish', { commands, aliases: ALIASES }), /__fish_seen_subcommand_from secret; and __fish_seen_subcommand_from rm' -l env -s e -r/);
});

test('the man page is roff that groff formats, with every verb, the exit codes and NO_COLOR', async () => {
  const page = manPage(await loadAllCommands(), ALIASES, '0.0.0');
  assert.match(page, /^\.TH KILN 1 /);
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww'], { input: page, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no groff warnings');
  const text = r.stdout.replace(/.\u0008/g, '');
  for (const name of COMMAND_NAMES) assert.ok(text.includes(`kiln ${name}`), name);
  assert.match(text, /Also:\s+kiln\s+secret\s+rm/);
  assert.match(text, /EXIT STATUS/);
  assert.match(text, /differences\s+found/);
  assert.match(text, /NO_COLOR/);
});
