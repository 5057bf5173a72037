// Headers on every dashboard answer. The Content-Security-Policy allows scripts and styles from
// this listener only (no inline script or style, no eval), connections back to it only (the live
// streams), and no framing; forms may post only here. Pages are never cached (they show state).
import type http from 'node:http';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(res: http.ServerResponse): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  // Not no-referrer: with it, a browser sends `Origin: null` on form posts, and the Origin check needs it.
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}
