// The one place where the request head a backend receives is built from the head a client sent,
// for ordinary requests (forward.ts) and upgrades (tunnel.ts) alike.
//
// Who decides what, in this order:
// 1. the client's end-to-end headers pass; hop-by-hop ones (hop-by-hop.ts) never do;
// 2. the client's `Connection:` may nominate more of its own headers to remove, but never the
//    ones that frame the message or route it (Content-Length, Transfer-Encoding, Host), nor the
//    ones the proxy vouches for (X-Forwarded-*, Forwarded, X-Real-IP). A nominated
//    Content-Length once left the backend reading the body as the next request (issue 11);
//    those headers are not taken from the filtered list at all, so no token can reach them;
// 3. the proxy then writes those itself: Host (from the URI's authority for an absolute-form
//    target), the body's framing, and X-Forwarded-For/-Host/-Proto. A client's own
//    X-Forwarded-*, Forwarded and X-Real-IP are believed only from a trusted proxy
//    (`proxy.trusted-proxies`); from anyone else they are dropped, as any client can write them.
//
// Headers are handled as flat raw arrays (name, value, ...) and the head as one string: Node
// parses `req.headers` lazily, and skipping that object is a measurable share of the per-request
// cost of the proxy.
import type * as http from 'node:http';
import type { AddressSet } from '../util/cidr.js';
import { connectionTokens, HOP_BY_HOP } from './hop-by-hop.js';
import { hostProblem, originForm } from './request-target.js';
import { normalizeHost } from './validate.js';

export interface IncomingInfo {
  /** Header lines for the backend ("Name: value\r\n" each), framing and X-Forwarded-* included;
   * not the request line, not Connection/Upgrade, not the empty line that ends the head. */
  lines: string;
  /** The request's host: its Host header, or the authority of an absolute-form target. */
  host: string | undefined;
  /** True when the request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The body came with Transfer-Encoding (it goes on chunked; its length is unknown). */
  chunked: boolean;
  /** Why the proxy refuses the request with 400 before it reaches any backend, or null. */
  problem: string | null;
}

/** Set by the proxy itself: a client's copy is believed only from a trusted proxy. */
const VOUCHED = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-real-ip']);

/** Lengths of the header names inspectRequest looks at: a name of any other length passes
 * through without being lower-cased (most of a browser's headers). */
const LOOKED_AT = lengthTable(['host', 'content-length', ...HOP_BY_HOP, ...VOUCHED]);

/** A table by name length: 1 where some name in `names` has that length. */
export function lengthTable(names: Iterable<string>): Uint8Array {
  const t = new Uint8Array(64);
  for (const n of names) t[n.length] = 1;
  return t;
}

/** The port part of "host:port" ("" when absent), compared along with the host. */
function hostPort(h: string): string {
  const end = h.lastIndexOf(']');
  const colon = h.indexOf(':', end + 1);
  return colon === -1 ? '' : h.slice(colon + 1);
}

/** Reads the request's raw head once: what to forward, the host, whether there is a body. */
export function inspectRequest(req: http.IncomingMessage, trusted: AddressSet): IncomingInfo {
  const raw = req.rawHeaders;
  const addr = req.socket.remoteAddress ?? '';
  const trust = trusted.has(addr);
  // The client's end-to-end headers, which its Connection header may still thin out.
  let kept: string[] = [];
  // Headers the proxy writes itself, or passes only from a trusted proxy: never filtered.
  let own = '';
  let host: string | undefined;
  let contentLength: string | undefined;
  let xff: string | undefined;
  let xfh: string | undefined;
  let xfp: string | undefined;
  let chunked = false;
  let nominated: Set<string> | null = null;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length >= 64 || LOOKED_AT[name.length] === 0) {
      kept.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'host') {
      host ??= value;
      hosts++;
    } else if (lower === 'content-length') {
      // Node's parser has refused a second, differing or non-numeric one, and one beside
      // Transfer-Encoding.
      contentLength = value;
    } else if (HOP_BY_HOP.has(lower)) {
      if (lower === 'transfer-encoding') chunked = true;
      else if (lower === 'connection') {
        const t = connectionTokens(value);
        if (t !== null) nominated = nominated === null ? t : new Set([...nominated, ...t]);
      }
    } else if (VOUCHED.has(lower)) {
      if (!trust) continue;
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'x-forwarded-host') xfh ??= value;
      else if (lower === 'x-forwarded-proto') xfp ??= value;
      else own += name + ': ' + value + '\r\n';
    } else kept.push(name, value);
  }
  let problem = hostProblem(hosts);
  // An absolute-form target goes on in origin form; its authority is the host (and must agree
  // with the Host header), so the proxy and the backend cannot disagree about it.
  const target = originForm(req.url ?? '/');
  if (!target.ok) problem ??= target.problem;
  else if (target.authority !== null) {
    if (host === undefined) host = target.authority;
    else if (normalizeHost(host) !== normalizeHost(target.authority) || hostPort(host) !== hostPort(target.authority)) {
      problem ??= `the Host header "${host.slice(0, 255)}" differs from the request URI's host "${target.authority.slice(0, 255)}"`;
    }
    req.url = target.path;
  }
  if (nominated !== null) kept = dropNamed(kept, nominated);
  let lines = host === undefined ? '' : 'Host: ' + host + '\r\n';
  for (let i = 0; i < kept.length; i += 2) lines += kept[i] + ': ' + kept[i + 1] + '\r\n';
  // The body's framing, as Node's parser read it: a length, or chunks re-chunked by the proxy.
  if (chunked) lines += 'Transfer-Encoding: chunked\r\n';
  else if (contentLength !== undefined) lines += 'Content-Length: ' + contentLength + '\r\n';
  lines += own + 'X-Forwarded-For: ' + (xff === undefined ? addr : xff + ', ' + addr) + '\r\n';
  if (xfh !== undefined || host !== undefined) lines += 'X-Forwarded-Host: ' + (xfh ?? host) + '\r\n';
  lines += 'X-Forwarded-Proto: ' + (xfp ?? 'http') + '\r\n';
  const hasBody = chunked || (contentLength !== undefined && contentLength !== '0');
  return { lines, host, hasBody, chunked, problem };
}

function dropNamed(flat: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!names.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
}

/**
 * The whole head for one attempt at `backend`: request line (always HTTP/1.1, origin form),
 * the lines above, `extra` (the upgrade's Connection/Upgrade), and the end of the head. A request
 * without any host is sent with the backend's address as Host, which HTTP/1.1 requires.
 */
export function backendHead(method: string, url: string, info: IncomingInfo, backend: { host: string; port: number }, extra = ''): string {
  const fallbackHost = info.host === undefined ? `Host: ${backend.host}:${backend.port}\r\n` : '';
  return method + ' ' + url + ' HTTP/1.1\r\n' + fallbackHost + info.lines + extra + '\r\n';
}
