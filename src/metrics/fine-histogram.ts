// A latency histogram fine enough to compare two groups' p99 (canary gates): buckets 5% wide
// from 0.1 ms to 10 min, so a quantile read from it is within 5% of the true one. The Prometheus
// histogram (histogram.ts) has 14 buckets that double or more, too coarse: two identical groups
// can land a bucket apart and look 2.5× different. Observing is one log and one increment.

/** Upper bound of bucket 0, in seconds. */
const BASE_S = 0.0001;
const RATIO = 1.05;
const LOG_RATIO = Math.log(RATIO);
/** Enough buckets to reach 600 s; the last one also takes everything slower. */
export const FINE_BUCKETS = Math.ceil(Math.log(600 / BASE_S) / LOG_RATIO) + 1;

export function fineBucketOf(seconds: number): number {
  if (!(seconds > BASE_S)) return 0;
  const i = Math.ceil(Math.log(seconds / BASE_S) / LOG_RATIO - 1e-9);
  return i < FINE_BUCKETS ? i : FINE_BUCKETS - 1;
}

/** Upper bound of bucket `i` in seconds: what a quantile that falls in it is reported as. */
export function fineUpperBound(i: number): number {
  return BASE_S * Math.pow(RATIO, i);
}

export class FineHistogram {
  readonly counts = new Float64Array(FINE_BUCKETS);

  observe(seconds: number): void {
    this.counts[fineBucketOf(seconds)]!++;
  }

  /** The non-empty buckets as [index, count] pairs (GET /stats sends these). */
  sparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const c = this.counts;
    for (let i = 0; i < c.length; i++) if (c[i]! > 0) out.push([i, c[i]!]);
    return out;
  }
}

/**
 * The q-quantile (0.99 for p99) in seconds of a sparse histogram, as the upper bound of the bucket
 * it falls in; null when it is empty.
 */
export function fineQuantile(sparse: ReadonlyArray<readonly [number, number]>, q: number): number | null {
  let total = 0;
  for (const [, n] of sparse) total += n;
  if (total <= 0) return null;
  const rank = Math.ceil(q * total);
  let acc = 0;
  const sorted = [...sparse].sort((a, b) => a[0] - b[0]);
  for (const [i, n] of sorted) {
    acc += n;
    if (acc >= rank) return fineUpperBound(i);
  }
  return fineUpperBound(sorted.at(-1)![0]);
}
