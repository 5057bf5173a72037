// Each group's share of its cluster's traffic, from the proxy's own counts (GET /stats: answered
// per group since the proxy started): the difference between now and a sample a few seconds old,
// so a switch shows at once instead of being averaged over the proxy's whole life. Pure but for
// the samples it keeps; a proxy restart (counts back to 0) starts the window again.
import type { StatusView } from './status.js';

export interface CountSample {
  at: number;
  /** performance.timeOrigin of the proxy: a new one means its counts started again. */
  proxy: number;
  answered: Record<string, number>;
}

/** Percent per group of what its cluster's groups answered between `before` and `now`; null: none answered. */
export function trafficShares(view: StatusView, before: CountSample | undefined, now: CountSample): StatusView {
  const usable = before && before.proxy === now.proxy ? before : undefined;
  return {
    ...view,
    clusters: view.clusters.map((c) => {
      const delta = new Map(c.groups.map((g) => [g.name, Math.max(0, (now.answered[g.name] ?? 0) - (usable?.answered[g.name] ?? 0))]));
      const total = [...delta.values()].reduce((a, b) => a + b, 0);
      return {
        ...c,
        groups: c.groups.map((g) => ({
          ...g,
          traffic: { share: usable && total > 0 ? Math.round((100 * (delta.get(g.name) ?? 0)) / total) : null, answered: now.answered[g.name] ?? 0 },
        })),
      };
    }),
  };
}

const WINDOW_MS = 5_000;

/** Keeps the samples of the last few seconds; `shares` answers against the oldest one. */
export class TrafficSampler {
  private samples: CountSample[] = [];

  add(s: CountSample): CountSample | undefined {
    this.samples = this.samples.filter((x) => s.at - x.at <= WINDOW_MS && x.proxy === s.proxy);
    const oldest = this.samples[0];
    this.samples.push(s);
    return oldest;
  }
}
