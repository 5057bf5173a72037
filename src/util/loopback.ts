// Which addresses only this machine reaches: every listener without authentication (the metrics
// listeners, the API's TCP listener) stays on them unless the user explicitly opens it.
import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1 and the name localhost: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
