// Which headers describe one connection rather than the message (RFC 9110 7.6.1), for both
// directions through the proxy. What a `Connection:` header may take away with them is decided
// where each head is built (request-head.ts, forward.ts's responseHeaders), never here.

/** Hop-by-hop headers, plus Expect, which Node's server already answered for the client. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
]);

/** The header names a Connection header nominates (lower case), besides close/keep-alive; null for none. */
export function connectionTokens(value: string): Set<string> | null {
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return null;
  }
  let extra: Set<string> | null = null;
  for (const t of value.split(',')) {
    const tok = t.trim().toLowerCase();
    if (tok === '' || tok === 'close' || tok === 'keep-alive') continue;
    (extra ??= new Set()).add(tok);
  }
  return extra;
}
