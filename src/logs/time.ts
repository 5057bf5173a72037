// `--since 10m`, `--since 1h30m`, `--since 2026-11-26T10:00:00Z`: a duration back from now, or an
// absolute time (ISO 8601; a date alone is midnight UTC).
import { KilnError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Milliseconds in a duration such as "90s", "10m", "1h30m", "7d"; null if it is not one. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (!DURATION.test(t)) return null;
  let ms = 0;
  for (const m of t.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** A point in time given as a duration ago or an absolute ISO time. `flag` names it in errors. */
export function parseTimeArg(text: string, flag: string, now: number = Date.now()): Date {
  const d = parseDuration(text);
  if (d !== null) return new Date(now - d);
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new KilnError('USAGE', `${flag} ${JSON.stringify(text)} is neither a duration nor a time`, {
    location: { flag },
    hint: 'use a duration back from now (30s, 10m, 1h30m, 7d) or an ISO time (2026-11-26T10:00:00Z)',
  });
}
