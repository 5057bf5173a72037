// Checks of kiln.yaml's listeners that need more than one key: the metrics listeners stay on
// loopback unless `metrics.allow-public` says otherwise (they carry no authentication and name
// every cluster), and no two of Kiln's TCP listeners on one host share a port.
import { isLoopbackHost } from '../util/loopback.js';
import type { Locator } from './locate.js';
import type { Problems } from './problems.js';
import type { RawProject } from './schema.js';
import type { Loose } from './validate.js';

export { isLoopbackHost };

export function checkListeners(spec: Loose<RawProject>, at: Locator, problems: Problems): void {
  const m = spec.metrics;
  if (!m) return;
  const host = m.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && m['allow-public'] !== true) {
    problems.at(
      at.value(['metrics', 'host']),
      `metrics.host ${host} is not a loopback address: the metrics carry no authentication and name every cluster and server group`,
      'use 127.0.0.1 (the default), or set metrics.allow-public: true to serve them on a network only your Prometheus can reach',
    );
  }
  // TCP listeners of one project on one host: the proxy's public port and the DNS server's (TCP
  // too) must not be the metrics ports either. Different hosts may share a port number.
  const taken: Array<{ key: string[]; host: string; port: number | undefined }> = [
    { key: ['proxy', 'port'], host: spec.proxy?.host ?? '127.0.0.1', port: spec.proxy?.port ?? 7080 },
    { key: ['dns', 'port'], host: spec.dns?.host ?? '127.0.0.1', port: spec.dns?.port ?? 5353 },
    { key: ['metrics', 'port'], host, port: m.port ?? 9464 },
    { key: ['metrics', 'proxy-port'], host, port: m['proxy-port'] ?? 9465 },
  ];
  for (let i = 2; i < taken.length; i++) {
    const mine = taken[i]!;
    const clash = taken.slice(0, i).find((t) => t.port !== undefined && t.port === mine.port && t.host === mine.host);
    if (clash) {
      problems.at(
        at.value(mine.key),
        `${mine.key.join('.')} ${mine.port} is already ${clash.key.join('.')}: two listeners cannot share a port on ${mine.host}`,
        `give ${mine.key.join('.')} a port of its own`,
      );
    }
  }
}
