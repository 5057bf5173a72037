// Seeded random inputs for the fuzz tests (src/**/fuzz*.test.ts). Seeded so a failure is
// reproducible: every fuzz test prints its seed, and KILN_FUZZ_SEED replays it. Test support only.

export const FUZZ_SEED = Number(process.env.KILN_FUZZ_SEED ?? 0x6b696c6e);

export interface Rng {
  (): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  bytes(n: number): Buffer;
  /** A string of `n` characters drawn from `alphabet`. */
  str(n: number, alphabet: string): string;
}

/** mulberry32: small, fast, good enough to spread inputs. */
export function rng(seed: number = FUZZ_SEED): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = next as Rng;
  r.int = (n) => Math.floor(next() * n);
  r.pick = (xs) => xs[r.int(xs.length)]!;
  r.bytes = (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = r.int(256);
    return b;
  };
  r.str = (n, alphabet) => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
    return s;
  };
  return r;
}

/** A random edit of `text`: flip, delete, duplicate or insert a span, or splice in a token. */
export function mutate(r: Rng, text: string, tokens: readonly string[]): string {
  const at = r.int(text.length + 1);
  const len = 1 + r.int(Math.min(40, text.length + 1));
  switch (r.int(6)) {
    case 0:
      return text.slice(0, at) + String.fromCharCode(r.int(128)) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + text.slice(at + len);
    case 2:
      return text.slice(0, at) + text.slice(at, at + len) + text.slice(at);
    case 3:
      return text.slice(0, at) + r.pick(tokens) + text.slice(at);
    case 4: {
      const lines = text.split('\n');
      const i = r.int(lines.length);
      const j = r.int(lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    default:
      return text.slice(0, at) + r.bytes(1 + r.int(8)).toString('latin1') + text.slice(at);
  }
}
