// Kiln's DNS zone: a pure function from a snapshot of the run state (clusters, their live
// groups, their servers) to the records Kiln's DNS server answers with. Built once per snapshot
// (every lookup is one Map get), so the control plane builds a new Zone when state changes and
// the server picks it up on its next query: answers change the moment a deploy switches.
//
//   <cluster>.<domain>                 A/AAAA  the cluster's load balancer; TXT group=, release=
//                                              (none for a worker cluster: it has no load balancer)
//   _<port>._tcp.<cluster>.<domain>    SRV     <cluster>.<domain>:<lb port>
//   <group>.<domain>                   A/AAAA  its servers (deduplicated); TXT release=, image=, app=
//   _<port>._tcp.<group>.<domain>      SRV     one per server: <server>.<domain>:<server port>
//   <server>.<domain>                  A/AAAA  the server
//   <domain>                           SOA, NS ns.<domain>
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Answer, SoaAnswer } from 'dns-packet';

export interface ZoneServer {
  name: string;
  address: string;
  port?: number;
}
export interface ZoneGroup {
  name: string;
  release: string;
  /** The image the group runs (podman, kubernetes): TXT image=<digest>. */
  imageDigest?: string;
  /** The app artifact (all runtimes; the process runtime has no image): TXT app=<digest>. */
  appDigest?: string;
  servers: ZoneServer[];
}
export interface ZoneCluster {
  name: string;
  /** The load balancer's address, e.g. 127.0.0.1. Absent for a cluster without one (a worker
   * role has no port): it then has no name of its own, only its groups and servers do. */
  address?: string;
  /** The load balancer's port (SRV). */
  port?: number;
  /** e.g. "http": SRV records live at _http._tcp.<name>. */
  portName?: string;
  /** The group taking traffic: TXT group=<name> release=<its release> on the cluster, the
   * answer that changes at a deploy's switch (the address, the load balancer's, never does). */
  activeGroup?: string;
  groups: ZoneGroup[];
}
export interface ZoneSnapshot {
  domain: string;
  clusters: ZoneCluster[];
}

export interface ZoneOptions {
  /** SOA serial; by default derived from the snapshot's content, so an unchanged state keeps it. */
  serial?: number;
  /** Address for the synthetic name server ns.<domain>; without it that name has no A record. */
  nameServerAddress?: string;
}

/** Records are short-lived: a switch must reach clients within seconds. */
export const TTL = 5;

/** What the server should answer. `answers` use the query name as asked (its case preserved). */
export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED';
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

type DataType = 'A' | 'AAAA' | 'SRV' | 'TXT' | 'SOA' | 'NS';
interface SrvTarget {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
interface Node {
  A: string[];
  AAAA: string[];
  SRV: SrvTarget[];
  TXT: string[];
  NS: string[];
  SOA: boolean;
}

const emptyNode = (): Node => ({ A: [], AAAA: [], SRV: [], TXT: [], NS: [], SOA: false });
const DATA_TYPES: readonly DataType[] = ['SOA', 'NS', 'A', 'AAAA', 'SRV', 'TXT'];

/** Lower case, no trailing dot: the one form names are stored and looked up in. */
export function canonicalName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

export class Zone {
  readonly domain: string;
  readonly serial: number;
  /** Entries of the snapshot that could not become records (bad address, bad name): for a log. */
  readonly problems: string[] = [];
  private readonly nodes = new Map<string, Node>();
  /** Names with nothing of their own but names below them (e.g. _tcp.<cluster>): NODATA, not NXDOMAIN. */
  private readonly emptyNonTerminals = new Set<string>();
  private readonly soa: SoaAnswer;

  constructor(snapshot: ZoneSnapshot, opts: ZoneOptions = {}) {
    this.domain = canonicalName(snapshot.domain);
    // kiln.yaml's schema validates the domain; a bad one here is a bug in the caller.
    if (!this.domain.split('.').every((l) => LABEL.test(l)) || this.domain.length > 200) {
      throw new Error(`zone domain "${snapshot.domain}" is not a domain name`);
    }
    this.serial = opts.serial ?? serialOf(snapshot);
    const ns = `ns.${this.domain}`;
    this.soa = {
      name: this.domain,
      type: 'SOA',
      ttl: TTL,
      data: {
        mname: ns,
        rname: `hostmaster.${this.domain}`,
        serial: this.serial >>> 0,
        refresh: 60,
        retry: 10,
        expire: 600,
        // Negative answers are cached for this long (RFC 2308): as short as positive ones.
        minimum: TTL,
      },
    };
    const apex = this.node(this.domain);
    apex.SOA = true;
    apex.NS.push(ns);
    if (opts.nameServerAddress) this.addAddress(ns, opts.nameServerAddress, 'name server');

    for (const c of snapshot.clusters) {
      const cname = this.fqdn(c.name, `cluster ${c.name}`);
      if (!cname) continue;
      const srvPrefix = c.portName ? this.srvPrefix(c.portName, `cluster ${c.name}`) : null;
      if (c.address !== undefined) {
        this.node(cname); // a cluster name exists even with a bad address: NODATA, not NXDOMAIN
        this.addAddress(cname, c.address, `cluster ${c.name}`);
        const active = c.activeGroup ? c.groups.find((g) => g.name === c.activeGroup) : undefined;
        if (active) this.node(cname).TXT.push(`group=${active.name.toLowerCase()}`, `release=${active.release}`);
        if (srvPrefix && validPort(c.port)) this.addSrv(`${srvPrefix}.${cname}`, cname, c.port);
      }
      for (const g of c.groups) {
        const gname = this.fqdn(g.name, `group ${g.name}`);
        if (!gname) continue;
        const gnode = this.node(gname);
        gnode.TXT.push(`release=${g.release}`);
        if (g.imageDigest) gnode.TXT.push(`image=${g.imageDigest}`);
        if (g.appDigest) gnode.TXT.push(`app=${g.appDigest}`);
        for (const s of g.servers) {
          const sname = this.fqdn(s.name, `server ${s.name}`);
          if (!sname) continue;
          this.node(sname);
          if (!this.addAddress(sname, s.address, `server ${s.name}`)) continue;
          this.addAddress(gname, s.address, `server ${s.name}`);
          if (srvPrefix && validPort(s.port)) this.addSrv(`${srvPrefix}.${gname}`, sname, s.port);
        }
      }
    }
    this.markEmptyNonTerminals();
  }

  /** True if `name` is the zone's apex or below it. */
  inZone(name: string): boolean {
    const n = canonicalName(name);
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /**
   * The answer to one question. `qtype` is dns-packet's type name ('A', 'SRV', 'ANY',
   * 'UNKNOWN_65280', ...). Outside the zone: REFUSED (Kiln is no resolver).
   */
  lookup(qname: string, qtype: string): ZoneAnswer {
    const n = canonicalName(qname);
    if (!this.inZone(n)) return { rcode: 'REFUSED', answers: [], authorities: [], additionals: [] };
    const node = this.nodes.get(n);
    if (!node) {
      const rcode = this.emptyNonTerminals.has(n) ? 'NOERROR' : 'NXDOMAIN';
      return { rcode, answers: [], authorities: [this.soa], additionals: [] };
    }
    const types = qtype === 'ANY' ? DATA_TYPES : DATA_TYPES.includes(qtype as DataType) ? [qtype as DataType] : [];
    const answers: Answer[] = [];
    for (const t of types) answers.push(...this.records(node, t, qname));
    // ANY is answered minimally (RFC 8482 4.2): one synthesized HINFO instead of every record,
    // so a forged ANY query gains an attacker nothing; a client asks for the types it needs.
    if (qtype === 'ANY' && answers.length > 0) {
      return { rcode: 'NOERROR', answers: [{ name: qname, type: 'HINFO', ttl: TTL, data: { cpu: 'RFC8482', os: '' } }], authorities: [], additionals: [] };
    }
    if (answers.length === 0) return { rcode: 'NOERROR', answers, authorities: [this.soa], additionals: [] };
    return { rcode: 'NOERROR', answers, authorities: [], additionals: this.glue(answers) };
  }

  /** Every owner name in the zone (for tests and benchmarks). */
  names(): string[] {
    return [...this.nodes.keys()];
  }

  private records(node: Node, t: DataType, owner: string): Answer[] {
    switch (t) {
      case 'SOA':
        return node.SOA ? [{ ...this.soa, name: owner }] : [];
      case 'NS':
        return node.NS.map((data) => ({ name: owner, type: 'NS', ttl: TTL, data }));
      case 'A':
      case 'AAAA':
        return node[t].map((data) => ({ name: owner, type: t, ttl: TTL, data }));
      case 'SRV':
        return node.SRV.map((data) => ({ name: owner, type: 'SRV', ttl: TTL, data }));
      case 'TXT':
        return node.TXT.map((value) => ({ name: owner, type: 'TXT', ttl: TTL, data: txtStrings(value) }));
    }
  }

  /** Addresses of SRV targets and NS names, so a client needs no second query. */
  private glue(answers: Answer[]): Answer[] {
    const targets = new Set<string>();
    for (const a of answers) {
      if (a.type === 'SRV') targets.add(a.data.target);
      else if (a.type === 'NS') targets.add(a.data);
    }
    const out: Answer[] = [];
    for (const t of targets) {
      const node = this.nodes.get(t);
      if (node) out.push(...this.records(node, 'A', t), ...this.records(node, 'AAAA', t));
    }
    return out;
  }

  private node(name: string): Node {
    let n = this.nodes.get(name);
    if (!n) {
      n = emptyNode();
      this.nodes.set(name, n);
    }
    return n;
  }

  private fqdn(label: string, what: string): string | null {
    const l = label.toLowerCase();
    if (!LABEL.test(l)) {
      this.problems.push(`${what}: "${label}" is not a DNS label`);
      return null;
    }
    return `${l}.${this.domain}`;
  }

  private srvPrefix(portName: string, what: string): string | null {
    const p = portName.toLowerCase();
    if (!LABEL.test(p)) {
      this.problems.push(`${what}: port name "${portName}" is not a DNS label`);
      return null;
    }
    return `_${p}._tcp`;
  }

  /** Adds an A or AAAA record (once); false if the address is not an IP address. */
  private addAddress(name: string, address: string, what: string): boolean {
    const family = isIP(address);
    if (family === 0) {
      this.problems.push(`${what}: "${address}" is not an IP address`);
      return false;
    }
    const list = this.node(name)[family === 4 ? 'A' : 'AAAA'];
    if (!list.includes(address)) list.push(address);
    return true;
  }

  private addSrv(name: string, target: string, port: number): void {
    const list = this.node(name).SRV;
    if (!list.some((s) => s.target === target && s.port === port)) list.push({ priority: 0, weight: 1, port, target });
  }

  private markEmptyNonTerminals(): void {
    for (const name of this.nodes.keys()) {
      // Walk up from the name's parent to the apex: _http._tcp.web -> _tcp.web -> web.
      for (let n = parentOf(name); n.length > this.domain.length; n = parentOf(n)) {
        if (!this.nodes.has(n)) this.emptyNonTerminals.add(n);
      }
    }
  }
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function parentOf(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

/** A TXT string holds at most 255 bytes; longer values are split over several strings. */
function txtStrings(value: string): Buffer[] {
  const b = Buffer.from(value, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, i + 255));
  return out.length ? out : [Buffer.alloc(0)];
}

function validPort(p: number | undefined): p is number {
  return p !== undefined && Number.isInteger(p) && p > 0 && p < 65536;
}

/** A 31-bit serial from the snapshot's content: stable while the state is unchanged. */
function serialOf(snapshot: ZoneSnapshot): number {
  const h = createHash('sha256').update(JSON.stringify(snapshot)).digest();
  return h.readUInt32BE(0) >>> 1;
}

/** Builds the zone for one snapshot. */
export function buildZone(snapshot: ZoneSnapshot, opts: ZoneOptions = {}): Zone {
  return new Zone(snapshot, opts);
}
