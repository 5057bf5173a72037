// Response rate limiting for UDP (issue 11, defect 14): a UDP source address can be forged, so
// without a limit Kiln's DNS server reflects whatever anyone asks at a victim. Each source
// address has a token bucket (`perSecond` answers, bursts of `burst`); over it, answers are
// dropped, except every `slip`-th one, which is sent as an empty truncated (TC) answer. That
// costs no amplification (it is no bigger than the query) and tells a real client to ask again
// over TCP, which cannot be forged and is not limited here (the connection cap bounds it), so a
// genuine client that is merely busy still gets every answer. BIND's RRL does the same ("slip").
// REFUSED would be the same size as TC but makes a real client give up instead of retrying.

export interface RateLimit {
  /** Answers per second per source address; 0 turns the limit off. */
  perSecond: number;
  /** Bucket size: answers a quiet source may get at once; default 2 × perSecond. */
  burst?: number;
  /** Every slip-th answer over the limit is sent truncated, the rest dropped; 0: drop all. Default 2. */
  slip?: number;
  /** Sources tracked at once (oldest forgotten first): bounds memory against forged sources. */
  maxSources?: number;
}

export type Verdict = 'answer' | 'truncate' | 'drop';

interface Bucket {
  tokens: number;
  /** ms timestamp of the last refill. */
  at: number;
  /** Answers refused since the bucket was last non-empty (drives the slip). */
  over: number;
}

const DEFAULT_MAX_SOURCES = 65_536;

export class ResponseRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly slip: number;
  private readonly maxSources: number;

  constructor(limit: RateLimit) {
    this.rate = limit.perSecond / 1000;
    this.burst = limit.burst ?? 2 * limit.perSecond;
    this.slip = limit.slip ?? 2;
    this.maxSources = limit.maxSources ?? DEFAULT_MAX_SOURCES;
  }

  /** What to do with the next answer to `source` at time `now` (ms). */
  check(source: string, now: number): Verdict {
    let b = this.buckets.get(source);
    if (!b) {
      // Map order is insertion order: the first key is the source tracked longest.
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.burst, at: now, over: 0 };
      this.buckets.set(source, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.over = 0;
      return 'answer';
    }
    b.over++;
    return this.slip > 0 && b.over % this.slip === 0 ? 'truncate' : 'drop';
  }
}
