// Hostile-input rules the proxy applies itself, on top of what Node's HTTP parser already refuses
// (Content-Length with Transfer-Encoding, differing or repeated Content-Length, a Transfer-Encoding
// other than a final `chunked`, obs-fold, control characters, bare LF; see hostile.test.ts).
// What is left is where the proxy and a backend could disagree about which host a request is
// for: the proxy routes by one Host, so the backend must see exactly that one.

/** Why a request is refused with 400, or null. `hosts`: how many Host headers it had. */
export function hostProblem(hosts: number): string | null {
  return hosts > 1 ? 'a request must have one Host header; this one has several' : null;
}

export type Target = { ok: true; path: string; authority: string | null } | { ok: false; problem: string };

const ABSOLUTE = /^https?:\/\/([^/?#]*)([^#]*)$/i;

/**
 * The request-target in origin form ("/path?query") and, for an absolute-form target
 * ("http://host/path", RFC 9112 3.2.2), its authority, which then decides the host. A proxy that
 * routed by Host but passed the absolute URI on would let a backend that reads the URI serve a
 * host the route never named.
 */
export function originForm(url: string): Target {
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') return { ok: true, path: url, authority: null };
  const m = ABSOLUTE.exec(url);
  if (m === null) return { ok: false, problem: 'the request target must be a path ("/...") or an absolute http:// URI' };
  const authority = m[1]!;
  if (authority === '' || authority.includes('@')) {
    return { ok: false, problem: 'an absolute request URI must name a host, without user information' };
  }
  const rest = m[2]!;
  return { ok: true, path: rest === '' ? '/' : rest.startsWith('/') ? rest : '/' + rest, authority };
}
