// The ZoneSnapshot of the run state, for the control plane: every cluster (its load balancer),
// its live groups and the servers that take traffic. The source is typed by the few fields read,
// so RuntimeState fits as it is and this file does not move with the store's other columns.
import type { GroupState, ServerState } from '../store/runtime-state.js';
import type { ZoneSnapshot } from './zone.js';

export interface ZoneStateSource {
  clusters(): Array<{ name: string; lb_port: number | null; active_group: string | null }>;
  groups(where: { cluster: string; states: readonly GroupState[] }): Array<{
    name: string;
    release: string;
    template: { portName?: string; appDigest?: string; imageDigest?: string };
  }>;
  servers(where: { group: string; states: readonly ServerState[] }): Array<{ name: string; port: number | null }>;
}

export interface SnapshotOptions {
  domain: string;
  /** Where the load balancers (kiln proxy) listen: the clusters' address. */
  lbHost: string;
  /** Where servers listen (the process runtime: 127.0.0.1). */
  serverHost: string;
}

/**
 * Groups still serving or kept for rollback are named, so a build can be reached (and tried)
 * directly; a group being created is named too, for trying it before the switch. Only healthy
 * servers are in it, as in the route table: a name never leads to a server the LB would skip.
 */
const DNS_GROUP_STATES: readonly GroupState[] = ['creating', 'canary', 'active', 'draining', 'disabled'];
const DNS_SERVER_STATES: readonly ServerState[] = ['healthy'];

export function zoneSnapshotFromState(state: ZoneStateSource, opts: SnapshotOptions): ZoneSnapshot {
  return {
    domain: opts.domain,
    clusters: state.clusters().map((c) => {
      const groups = state.groups({ cluster: c.name, states: DNS_GROUP_STATES });
      // A role's port name is fixed by the spec; the newest group has the current one.
      const portName = groups.map((g) => g.template.portName).filter(Boolean).at(-1);
      return {
        name: c.name,
        // A cluster without a load-balancer port (a worker role) has no cluster name: nothing
        // listens for it. Its groups and servers keep theirs (TXT release=, where they run).
        ...(c.lb_port ? { address: opts.lbHost, port: c.lb_port } : {}),
        ...(portName ? { portName } : {}),
        ...(c.active_group ? { activeGroup: c.active_group } : {}),
        groups: groups.map((g) => ({
          name: g.name,
          release: g.release,
          ...(g.template.imageDigest ? { imageDigest: g.template.imageDigest } : {}),
          ...(g.template.appDigest ? { appDigest: g.template.appDigest } : {}),
          servers: state
            .servers({ group: g.name, states: DNS_SERVER_STATES })
            .map((s) => ({ name: s.name, address: opts.serverHost, ...(s.port ? { port: s.port } : {}) })),
        })),
      };
    }),
  };
}
