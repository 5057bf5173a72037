// Address ranges written as CIDR ("10.0.0.0/8", "::1/128", or a bare address for one host), as
// kiln.yaml's `proxy.trusted-proxies` and the proxy's route table carry them. One parser for both,
// so a range the spec accepts is never refused by the proxy, or the other way round.
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** The range `s` names, or why it is not one (without `s`: callers name the value as they show it). */
export function parseCidr(s: string): Cidr | string {
  const slash = s.indexOf('/');
  const address = slash === -1 ? s : s.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return 'must be an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8';
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family };
  const bits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) {
    return `must be a CIDR range whose prefix length is 0-${max}`;
  }
  return { address, prefix: Number(bits), family };
}

/** Why `s` is not a CIDR range, or null. */
export function cidrProblem(s: string): string | null {
  const c = parseCidr(s);
  return typeof c === 'string' ? c : null;
}

/** A set of ranges that answers "is this peer address inside one?" (IPv4-mapped IPv6 included). */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  /** `ranges` must have been checked (cidrProblem); a bad one throws. */
  constructor(ranges: readonly string[]) {
    for (const r of ranges) {
      const c = parseCidr(r);
      if (typeof c === 'string') throw new Error(`internal: unchecked address range: ${c}`);
      this.list.addSubnet(c.address, c.prefix, c.family);
    }
    this.size = ranges.length;
  }

  has(address: string | undefined): boolean {
    if (this.size === 0 || address === undefined) return false;
    const v = isIP(address);
    return v !== 0 && this.list.check(address, v === 4 ? 'ipv4' : 'ipv6');
  }
}
