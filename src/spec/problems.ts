// Collects every problem found in one kiln.yaml, each placed at the file:line:column of the YAML
// node that caused it, so a user fixes them all in one round instead of one per run.
import type { LineCounter, Node as YamlNode } from 'yaml';
import { KilnError, KilnErrors } from '../errors.js';

export class Problems {
  readonly errors: KilnError[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  /** Records a problem at a source offset (0-based, as the yaml package counts). */
  atOffset(offset: number, message: string, hint?: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.errors.push(
      new KilnError('SPEC_INVALID', message, { location: { file: this.file, line, column: col }, hint }),
    );
  }

  /** Records a problem at a YAML node; without a node (empty document) at the file's start. */
  at(node: YamlNode | null | undefined, message: string, hint?: string): void {
    this.atOffset(node?.range?.[0] ?? 0, message, hint);
  }

  get count(): number {
    return this.errors.length;
  }

  /** Throws every problem found so far as one KilnErrors, in file order. */
  throwIfAny(): void {
    if (this.errors.length === 0) return;
    const sorted = [...this.errors].sort(
      (a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0),
    );
    throw new KilnErrors(sorted);
  }
}

/** "did you mean ...?" for a misspelt key or value: the closest candidate, if it is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // Short words need a closer match, or every three-letter word "means" every other.
  const limit = word.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      row[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** "allowed: a, b, c" plus a suggestion when the wrong word is close to one of them. */
export function allowedHint(word: string, allowed: readonly string[]): string {
  const near = closest(word, allowed);
  return `${near ? `did you mean "${near}"? ` : ''}allowed: ${allowed.join(', ')}`;
}
