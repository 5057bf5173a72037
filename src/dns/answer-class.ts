// What kind of answer a DNS reply is, read from its header, for the control plane's metrics:
// a query is answered (records), nodata (the name exists, not that type), nxdomain, refused
// (outside the zone), another error code, or got no reply at all (dropped: unparsable or rate
// limited; truncated: the rate limiter's empty TC reply that sends a real client to TCP).

export type DnsAnswerClass = 'answer' | 'nodata' | 'nxdomain' | 'refused' | 'formerr' | 'servfail' | 'notimp' | 'other' | 'truncated' | 'dropped';

export const DNS_ANSWER_CLASSES: readonly DnsAnswerClass[] = ['answer', 'nodata', 'nxdomain', 'refused', 'formerr', 'servfail', 'notimp', 'other', 'truncated', 'dropped'];

const BY_RCODE: Record<number, DnsAnswerClass> = { 1: 'formerr', 2: 'servfail', 3: 'nxdomain', 4: 'notimp', 5: 'refused' };

export function answerClass(reply: Buffer | null): DnsAnswerClass {
  if (reply === null || reply.length < 12) return 'dropped';
  const rcode = reply[3]! & 0x0f;
  if (rcode === 0) return reply.readUInt16BE(6) > 0 ? 'answer' : 'nodata';
  return BY_RCODE[rcode] ?? 'other';
}
