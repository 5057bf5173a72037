// A histogram's numbers for one label set: counts per bucket (not yet cumulative, so an
// observation touches one slot), the sum and the count. Observing is a short scan over the
// bounds and three additions: cheap enough for the proxy's hot path.
import { formatValue, sample } from './exposition.js';

/** Latency buckets in seconds, from a fast loopback answer to a slow upstream. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Duration buckets in seconds for operations that take seconds to minutes (deploys, drains). */
export const OPERATION_BUCKETS: readonly number[] = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

export class HistogramCell {
  /** counts[i]: observations <= bounds[i] and > bounds[i-1]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** `_bucket` (cumulative, ending with le="+Inf"), `_sum` and `_count` lines. */
  write(name: string, names: readonly string[], values: readonly string[]): string {
    let out = '';
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i]!;
      out += sample(`${name}_bucket`, names, values, acc, ['le', formatValue(this.bounds[i]!)]);
    }
    out += sample(`${name}_bucket`, names, values, this.count, ['le', '+Inf']);
    out += sample(`${name}_sum`, names, values, this.sum);
    out += sample(`${name}_count`, names, values, this.count);
    return out;
  }
}

export function checkBounds(bounds: readonly number[]): void {
  for (let i = 0; i < bounds.length; i++) {
    if (!Number.isFinite(bounds[i]!) || (i > 0 && bounds[i]! <= bounds[i - 1]!)) throw new Error('histogram bounds must be finite and increasing');
  }
}
