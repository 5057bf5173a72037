// The dashboard's sessions: the API token is typed once into the login form and exchanged for a
// random session id in a cookie (HttpOnly: no script reads it; SameSite=Strict: no other site's
// page sends it). State-changing requests also need the session's CSRF token (a form field or the
// X-Kiln-CSRF header, which another site cannot read or set) and an Origin of this very listener.
// The Host must be a loopback name, so a DNS-rebound name cannot reach the API with the cookie.
// Sessions live in memory: a control-plane restart logs everyone out, which is the safe default.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type http from 'node:http';

export const COOKIE = 'kiln_session';
const LIFETIME_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

export interface Session {
  id: string;
  csrf: string;
  expires: number;
}

const same = (a: string, b: string): boolean => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

export class Sessions {
  private readonly byId = new Map<string, Session>();

  create(now = Date.now()): Session {
    for (const [id, s] of this.byId) if (s.expires <= now) this.byId.delete(id);
    // Bounded: the oldest goes first (a token holder logging in in a loop cannot grow memory).
    while (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value as string);
    const s = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), expires: now + LIFETIME_MS };
    this.byId.set(s.id, s);
    return s;
  }

  of(req: http.IncomingMessage, now = Date.now()): Session | undefined {
    const id = cookie(req, COOKIE);
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s || s.expires <= now) return undefined;
    return s;
  }

  end(s: Session): void {
    this.byId.delete(s.id);
  }
}

export function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(s: Session): string {
  return `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(LIFETIME_MS / 1000)}`;
}
export const CLEAR_COOKIE = `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/;

/** The Host names this loopback listener (a rebound DNS name does not). */
export function loopbackHost(req: http.IncomingMessage): boolean {
  return LOOPBACK_HOST.test(req.headers.host ?? '');
}

/** The request comes from a page of this listener: Origin is exactly http://<Host>. */
export function sameOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin || !loopbackHost(req)) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  return origin === `http://${req.headers.host}`;
}

/** Whether `given` (form field or header) is the session's CSRF token. */
export function csrfMatches(s: Session, given: string | undefined): boolean {
  return given !== undefined && given.length > 0 && same(s.csrf, given);
}
