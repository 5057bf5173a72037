// The canary split: which of a cluster's two groups (stable, canary) takes one request, sticky per
// client. Stickiness is a cookie the proxy sets, not a hash of the client address: behind a NAT,
// a corporate proxy or a CDN thousands of users share one address (and on loopback every client
// does), so an address hash would move them all at once and could not give 10% of them. The
// cookie holds a bucket 0-9999 drawn once per client; the request goes to the canary when
// (bucket + offset) mod 10000 < weight × 100. Because the test is "below a threshold", a client
// on the canary at 10% is still on it at 50% (raising the weight only adds clients), and the
// offset (from the canary group's name) makes each canary start with a different 10% of users.
// A client that keeps no cookies gets a fresh bucket per request: split by weight, not sticky.
import { randomInt } from 'node:crypto';

export const CANARY_COOKIE = 'kiln-canary';
export const BUCKETS = 10_000;
/** How long a client keeps its bucket: a day covers a canary's steps; a later one may reuse it. */
const COOKIE_MAX_AGE_S = 86_400;

/** The bucket in a Cookie header (`kiln-canary=1234`), or null when there is none or it is malformed. */
export function bucketFromCookie(header: string | undefined): number | null {
  if (header === undefined) return null;
  const at = header.indexOf(CANARY_COOKIE + '=');
  if (at === -1) return null;
  // The name must start the header or follow "; " (not be the tail of another cookie's name).
  if (at > 0 && header[at - 1] !== ' ' && header[at - 1] !== ';') return null;
  let v = 0;
  let i = at + CANARY_COOKIE.length + 1;
  const start = i;
  for (; i < header.length && i - start < 5; i++) {
    const d = header.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  if (i === start || i - start > 4 || (i < header.length && header[i] !== ';' && header[i] !== ' ')) return null;
  return v < BUCKETS ? v : null;
}

export function newBucket(): number {
  return randomInt(BUCKETS);
}

/** The Set-Cookie value that gives a client its bucket. */
export function bucketCookie(bucket: number): string {
  return `${CANARY_COOKIE}=${bucket}; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax`;
}

/** The weight (percent, up to two decimals) as a threshold on buckets. */
export function thresholdOf(weight: number): number {
  return Math.round(weight * 100);
}

/** A stable offset per canary group (FNV-1a of its name), so each canary starts with other users. */
export function offsetOf(group: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) h = Math.imul(h ^ group.charCodeAt(i), 0x01000193) >>> 0;
  return h % BUCKETS;
}

export function onCanary(bucket: number, threshold: number, offset: number): boolean {
  return (bucket + offset) % BUCKETS < threshold;
}
