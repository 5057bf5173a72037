// What the control plane asks of the data plane, whichever engine carries the traffic
// (kiln.yaml `proxy.engine`): Kiln's own proxy (server/proxy-supervisor.ts) or HAProxy driven
// by Kiln (proxy/haproxy/engine.ts). Both take whole route tables (routes.ts) and keep them
// across their own restarts; both outlive the control plane, which adopts them.
import type { ProxyStats, RouteTable } from './routes.js';

export interface DataPlane {
  /** How messages name it: "kiln proxy", "HAProxy". */
  readonly name: string;
  /** What to look at when it does not route as asked. */
  readonly troubleshoot: string;
  isRunning(): boolean;
  /** Adopts the running data plane, or starts one from its saved routes. */
  ensure(): Promise<'adopted' | 'started'>;
  /** Stops it gracefully (in-flight requests finish first, within a bound). */
  stop(): Promise<void>;
  /** Applies a whole table; throws when the data plane does not take it. Calls are serialised. */
  push(table: RouteTable): Promise<void>;
  /** Its counters; null when it is down or does not answer within `timeoutMs`. */
  stats(timeoutMs?: number): Promise<ProxyStats | null>;
  /** The table it routes by now (active groups as it reports them); null when it is down. */
  routes(timeoutMs?: number): Promise<RouteTable | null>;
  /** The version of the table it has, to continue numbering after a control-plane restart. */
  currentVersion(): Promise<number>;
}
