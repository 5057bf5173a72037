// `kiln maintenance on <cluster>`: the proxy answers every request of the cluster itself, 503 with
// the environment's page and Retry-After, so clients and crawlers know it is planned and brief
// (RFC 9110 15.6.4) and no cache keeps the page once the cluster is back.
import type * as http from 'node:http';
import type { MaintenancePage } from './routes.js';

export const DEFAULT_MAINTENANCE_PAGE =
  '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Down for maintenance</title>\n' +
  '<h1>Down for maintenance</h1>\n<p>This service is being worked on and will be back shortly.</p>\n</html>\n';

export function replyMaintenance(res: http.ServerResponse, m: MaintenancePage): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(503, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(m.page),
    'Retry-After': String(m.retryAfterS),
    'Cache-Control': 'no-store',
  });
  res.end(m.page);
}
