// Every `kiln …` command that Kiln's own text suggests (hints, messages, help) exists and parses
// against the command table (issue 13, item 6: `kiln os tag` and `kiln env destroy dev` were
// suggested and refused). The strings are read from src/ with TypeScript's parser, so comments
// do not count and a template's `${…}` parts are placeholders; a verb must be spelled out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseCommandLine } from './command-line.js';
import { ALIASES, COMMAND_NAMES, loadCommand } from './commands/index.js';
import { closest } from '../spec/problems.js';

const HOLE = '\u0000'; // where a template's ${…} was
const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');
// These print the table itself (help, man, completion, "did you mean"): their `kiln ${name}` is generic.
const GENERATORS = new Set(['cli/help.ts', 'cli/man.ts', 'cli/completion.ts', 'cli/command-line.ts', 'cli/main.ts', 'cli/hints.test.ts']);
const TOP = [...new Set(COMMAND_NAMES.map((n) => n.split(' ')[0] as string))];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The text of every string and template literal of a file (holes for ${…}). */
function literals(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    // An image's history line ("kiln os layer …") names a layer, not a command (and is digested).
    if (ts.isPropertyAssignment(n) && n.name.getText(sf) === 'createdBy') return;
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) out.push(n.text);
    else if (ts.isTemplateExpression(n)) out.push(n.head.text + n.templateSpans.map((s) => HOLE + s.literal.text).join(''));
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

interface Suggestion {
  file: string;
  text: string;
  words: string[];
}

/** `kiln <verb> …` in a literal: up to the end of the command (punctuation that ends it). */
function suggestions(file: string, text: string): Suggestion[] {
  const found: Suggestion[] = [];
  for (const m of text.matchAll(/(?<![\w./-])kiln ((?:[^\s`'";,)(|&]+ ?)+)/g)) {
    // A word ending a sentence ("… as by kiln deploy.") ends the command.
    const all = (m[1] as string).trim().split(/ +/);
    const end = all.findIndex((w) => /[.:]$/.test(w));
    const words = (end >= 0 ? all.slice(0, end + 1) : all).map((w, i, a) => (i === a.length - 1 ? w.replace(/[.:]$/, '') : w));
    const first = words[0] as string;
    // Prose ("a newer kiln wrote this") is not a command: the word after kiln is no verb and
    // not a near miss of one. A backticked or hole-started one is always a command.
    const quoted = text[(m.index ?? 0) - 1] === '`';
    if (!quoted && first !== HOLE && !TOP.includes(first) && !closest(first, TOP)) continue;
    found.push({ file, text: `kiln ${words.join(' ').replaceAll(HOLE, '${…}')}`, words });
  }
  return found;
}

function allSuggestions(): Suggestion[] {
  return sourceFiles(srcDir).flatMap((f) => {
    const rel = path.relative(srcDir, f);
    if (GENERATORS.has(rel)) return [];
    return literals(f).flatMap((t) => suggestions(rel, t));
  });
}

test('the scan finds the suggestions (it is not vacuous)', () => {
  const all = allSuggestions().map((s) => s.text);
  assert.ok(all.length > 30, `found ${all.length}`);
  assert.ok(all.some((s) => s.startsWith('kiln release create')));
  assert.ok(all.some((s) => s.startsWith('kiln secret set')));
});

test('every kiln command suggested in src/ parses against the command table, with options it has', async () => {
  const bad: string[] = [];
  for (const s of allSuggestions()) {
    // Placeholders: <release>, [name], ${…}, "…" (an example value) stand for an argument.
    const verbWords = s.words.slice(0, 2);
    if (verbWords.some((w, i) => w.includes(HOLE) && (i === 0 || !COMMAND_NAMES.includes(verbWords[0] as string)))) {
      bad.push(`${s.file}: "${s.text}": spell the verb out (a \${…} where the verb goes cannot be checked)`);
      continue;
    }
    const argv = s.words.map((w) => w.replaceAll(HOLE, 'x'));
    const r = parseCommandLine(argv, COMMAND_NAMES, ALIASES);
    if (r.kind !== 'command') {
      bad.push(`${s.file}: "${s.text}": ${r.kind === 'error' ? r.error.message : r.kind}`);
      continue;
    }
    const cmd = await loadCommand(r.name);
    const known = new Set([...Object.keys(cmd.options), 'json', 'project', 'help']);
    for (const w of argv) {
      const opt = /^--([a-z][\w-]*)/.exec(w)?.[1];
      if (opt && !known.has(opt)) bad.push(`${s.file}: "${s.text}": kiln ${cmd.name} has no --${opt}`);
    }
  }
  assert.deepEqual(bad, []);
});
