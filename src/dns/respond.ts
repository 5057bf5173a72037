// One DNS query in, one response out (or nothing), as bytes: the whole protocol decision of
// Kiln's DNS server, with no sockets, so it can be tested and fuzzed directly. Packets are
// decoded and encoded by dns-packet; the only bytes read by hand are the 12-byte header's id and
// flags, because a FORMERR answer to a packet dns-packet cannot decode still needs them.
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import type { Zone } from './zone.js';

export type Transport = 'udp' | 'tcp';

/** Classic DNS over UDP without EDNS (RFC 1035 4.2.1). */
const UDP_CLASSIC_LIMIT = 512;
/** The UDP size Kiln advertises and caps at: avoids IP fragmentation (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
/** A TCP message is length-prefixed with 16 bits. */
const TCP_LIMIT = 65535;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;
const OPCODE_QUERY = 0;
const QR = 1 << 15;
/** BADVERS (16) is carried as extended rcode 1 in the OPT record, header rcode 0 (RFC 6891). */
const BADVERS_EXTENDED = 1;

/**
 * The response to `query`, or null when it must not be answered: shorter than a header, or
 * itself a response (answering those would let two servers bounce packets forever).
 * Never throws.
 */
export function respond(query: Buffer, zone: () => Zone, transport: Transport): Buffer | null {
  if (query.length < 12) return null;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  if (flags & QR) return null;
  const opcode = (flags >> 11) & 0xf;
  const rd = flags & dnsPacket.RECURSION_DESIRED;
  const reply = (rcode: Rcode, rest: Partial<Packet> = {}, aa = false): Packet => ({
    type: 'response',
    id,
    // RA stays 0: Kiln never recurses.
    flags: (opcode << 11) | rd | (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE[rcode],
    ...rest,
  });
  try {
    let decoded: DecodedPacket | null = null;
    try {
      decoded = dnsPacket.decode(query);
    } catch {
      decoded = null;
    }
    if (opcode !== OPCODE_QUERY) {
      const q = decoded?.questions?.length === 1 && encodable(decoded.questions[0]!) ? decoded.questions : [];
      return encode(reply('NOTIMP', { questions: q }), transport, UDP_CLASSIC_LIMIT);
    }
    if (!decoded) return encode(reply('FORMERR'), transport, UDP_CLASSIC_LIMIT);

    const opts = (decoded.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
    const question = decoded.questions?.length === 1 ? decoded.questions[0]! : null;
    const questions = question && encodable(question) ? [question] : [];
    if (!question || questions.length === 0 || opts.length > 1) return encode(reply('FORMERR', { questions }), transport, UDP_CLASSIC_LIMIT);

    const clientOpt = opts[0];
    const limit = clientOpt ? Math.max(UDP_CLASSIC_LIMIT, Math.min(clientOpt.udpPayloadSize, EDNS_UDP_SIZE)) : UDP_CLASSIC_LIMIT;
    // A client that speaks EDNS gets an OPT record back (RFC 6891 7).
    const ourOpt = (extendedRcode = 0): Answer[] =>
      clientOpt ? [{ name: '.', type: 'OPT', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
    if (clientOpt && clientOpt.ednsVersion !== 0) {
      return encode(reply('NOERROR', { questions, additionals: ourOpt(BADVERS_EXTENDED) }), transport, limit);
    }

    const qclass = question.class ?? 'IN';
    const qtype = question.type as string;
    if (qtype === 'OPT') return encode(reply('FORMERR', { questions, additionals: ourOpt() }), transport, limit);

    let z: Zone;
    try {
      z = zone();
    } catch {
      return encode(reply('SERVFAIL', { questions, additionals: ourOpt() }), transport, limit);
    }
    // Only the Internet class, and no zone transfers: both are outside what Kiln serves.
    if ((qclass !== 'IN' && qclass !== 'ANY') || qtype === 'AXFR' || qtype === 'IXFR' || !z.inZone(question.name)) {
      return encode(reply('REFUSED', { questions, additionals: ourOpt() }), transport, limit);
    }
    const a = z.lookup(question.name, qtype);
    const full = reply(
      a.rcode,
      { questions, answers: a.answers, authorities: a.authorities, additionals: [...a.additionals, ...ourOpt()] },
      a.rcode !== 'REFUSED',
    );
    return encode(full, transport, limit, ourOpt());
  } catch {
    // Whatever went wrong (a bug, an encoding the library refused), the client gets SERVFAIL
    // and the server lives on.
    try {
      return dnsPacket.encode(reply('SERVFAIL'));
    } catch {
      return null;
    }
  }
}

/**
 * Encodes `p`, fitting it into what the transport carries: first without the additional
 * section (glue is optional), then as an empty answer with TC set, so the client retries on TCP.
 */
function encode(p: Packet, transport: Transport, limit: number, opt: Answer[] = []): Buffer {
  const max = transport === 'tcp' ? TCP_LIMIT : limit;
  let buf = dnsPacket.encode(p);
  if (buf.length <= max) return buf;
  buf = dnsPacket.encode({ ...p, additionals: opt });
  if (buf.length <= max) return buf;
  return dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: opt });
}

/**
 * dns-packet decodes labels as UTF-8 text joined by dots; a question that would not encode back
 * to the same wire form (empty or over-long labels, bytes that are not ASCII, an unknown class)
 * is not one we can echo, so the query is answered FORMERR without it.
 */
function encodable(q: Question): boolean {
  if (typeof q.name !== 'string' || typeof q.type !== 'string') return false;
  if (typeof q.class === 'string' && q.class.startsWith('UNKNOWN_')) return false;
  if (q.name === '.') return true;
  if (!/^[\x21-\x7e]+$/.test(q.name) || q.name.length > 253) return false;
  return q.name.split('.').every((l) => l.length > 0 && l.length <= 63);
}

/**
 * The smallest answer to `query`: its header and question, TC set, no records, so a client
 * asks again over TCP (the rate limiter's "slip"). Read from the bytes, not decoded: it must
 * cost less than a full answer. Null for anything but one plain question.
 */
export function truncatedReply(query: Buffer): Buffer | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  const flags = query.readUInt16BE(2);
  if (flags & QR) return null;
  let off = 12;
  for (;;) {
    const len = query[off];
    if (len === undefined || len > 63) return null; // past the end, or a compression pointer
    off += 1 + len;
    if (len === 0) break;
  }
  off += 4; // QTYPE, QCLASS
  if (off > query.length) return null;
  const out = Buffer.from(query.subarray(0, off));
  const opcode = (flags >> 11) & 0xf;
  out.writeUInt16BE(QR | (opcode << 11) | dnsPacket.TRUNCATED_RESPONSE | (flags & dnsPacket.RECURSION_DESIRED), 2);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}
