// The control plane's API needs the token from .kiln/run/token on every call. Compared in
// constant time (on fixed-length hashes, so the length leaks nothing either).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const h = (s: string): Buffer => createHash('sha256').update(s).digest();

export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (!presented) return false;
  return timingSafeEqual(h(expected), h(presented));
}

export function bearer(req: IncomingMessage): string | undefined {
  const v = req.headers.authorization;
  if (!v) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(v);
  return m?.[1];
}
