// Which version served which request, and how many times the served version really changed.
//
// With many requests in flight, the order in which responses complete is not the order in
// which the load balancer routed them, so "v1, v2, v1" in completion order is not by itself a
// flip back: the last v1 may simply have been routed before the switch and answered late by
// the draining group. The rule used here is causal:
//
//   An era begins when a response of a new version is received. A request is consistent if it
//   got the version of the era in effect when the request STARTED, or of any era that began
//   after it started (it may have been routed after a later switch). A request that got any
//   other version starts a new era: that is a transition.
//
// So for one switch v1 -> v2, a v1 response counts as a flip back exactly when its request
// started after some v2 response had been received. Responses are processed in the order they
// were received. The first era is the version of the earliest-started request; this assumes
// (as every test does) that load runs a while before the first change.

export interface TimedResponse {
  /** When the request was issued (ms, one monotonic clock for all requests). */
  start: number;
  /** When its response headers (and so its version) arrived, same clock. */
  end: number;
  version: string;
}

export interface Era {
  version: string;
  /** Receive time of the response that began the era (-Infinity for the first). */
  since: number;
}

export interface VersionAnalysis {
  /** Versions in the order they took over, e.g. ["1.0.0", "2.0.0"]: one switch, no flip back. */
  segments: string[];
  /** segments.length - 1 (0 for no responses). */
  transitions: number;
  eras: Era[];
  /** Responses of an older era received after a newer era began: the old group's in-flight tail. */
  lateArrivals: number;
}

export function analyseVersions(responses: readonly TimedResponse[]): VersionAnalysis {
  if (responses.length === 0) return { segments: [], transitions: 0, eras: [], lateArrivals: 0 };
  const byStart = [...responses].sort((a, b) => a.start - b.start || a.end - b.end);
  const eras: Era[] = [{ version: byStart[0]!.version, since: -Infinity }];
  const byEnd = [...responses].sort((a, b) => a.end - b.end || a.start - b.start);
  let lateArrivals = 0;
  for (const r of byEnd) {
    // The era in effect when r started: the last one that began before r.start.
    let i = eras.length - 1;
    while (i > 0 && eras[i]!.since >= r.start) i--;
    let allowed = false;
    for (let j = i; j < eras.length; j++) if (eras[j]!.version === r.version) allowed = true;
    if (!allowed) eras.push({ version: r.version, since: r.end });
    else if (eras[eras.length - 1]!.version !== r.version) lateArrivals++;
  }
  const segments = eras.map((e) => e.version);
  return { segments, transitions: segments.length - 1, eras, lateArrivals };
}
