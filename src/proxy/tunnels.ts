// Open upgraded connections (client socket piped to backend socket), by server group. They are
// not in-flight requests: a WebSocket may stay open for hours, and counting it would keep a
// switched-away group "draining" forever. They are closed instead when their group leaves the
// route table or their cluster port closes, i.e. just before their servers are stopped.
import type * as net from 'node:net';

interface Tunnel {
  readonly group: string;
  /** Cluster port it came in on, 0 for the Host-routed main listener. */
  readonly port: number;
  readonly client: net.Socket;
  readonly backend: net.Socket;
}

export class Tunnels {
  private readonly open_ = new Set<Tunnel>();

  /** `idleMs`: a tunnel with no byte either way for this long is closed (0: never). */
  constructor(private readonly idleMs = 3_600_000) {}

  /** Pipes the two sockets both ways until either side closes; the other is then flushed and closed. */
  open(group: string, port: number, client: net.Socket, backend: net.Socket): void {
    const t: Tunnel = { group, port, client, backend };
    this.open_.add(t);
    client.setNoDelay(true);
    backend.setNoDelay(true);
    // Errors only end the tunnel (a reset from either side is routine), never the process.
    client.on('error', () => client.destroy());
    backend.on('error', () => backend.destroy());
    // A closed side lets the other write what is still buffered, then closes it: destroySoon,
    // not end(), because a half-open client would otherwise hold the socket forever.
    client.once('close', () => {
      this.open_.delete(t);
      backend.destroySoon();
    });
    backend.once('close', () => {
      this.open_.delete(t);
      client.destroySoon();
    });
    // Every byte through the tunnel is either read from or written to the client socket, and
    // both reset its inactivity timer: one timer watches both directions. A forgotten tab or a
    // peer that vanished without a FIN would otherwise hold two sockets until the proxy restarts.
    if (this.idleMs > 0) {
      client.setTimeout(this.idleMs, () => this.close(t));
    }
    client.pipe(backend);
    backend.pipe(client);
    client.resume();
    backend.resume();
  }

  /** Open tunnels per group, for GET /stats. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.open_) out[t.group] = (out[t.group] ?? 0) + 1;
    return out;
  }

  /** Closes every tunnel whose group or cluster port is no longer served. */
  prune(groupServed: (group: string) => boolean, portServed: (port: number) => boolean): number {
    let n = 0;
    for (const t of [...this.open_]) {
      if (groupServed(t.group) && (t.port === 0 || portServed(t.port))) continue;
      this.close(t);
      n++;
    }
    return n;
  }

  closeAll(): void {
    for (const t of [...this.open_]) this.close(t);
  }

  private close(t: Tunnel): void {
    this.open_.delete(t);
    t.client.destroy();
    t.backend.destroy();
  }
}
