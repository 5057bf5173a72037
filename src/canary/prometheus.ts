// The optional Prometheus gate: one instant query (GET <url>/api/v1/query) whose answer must be a
// single number. Anything else (an error, no series, several series, NaN) is "no number", which
// the gate counts as a failure: a query that cannot be answered never lets a canary pass.
const TIMEOUT_MS = 5_000;

export async function promQuery(url: string, query: string): Promise<number | null> {
  const target = new URL('api/v1/query', url.endsWith('/') ? url : url + '/');
  target.searchParams.set('query', query);
  const res = await fetch(target, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) return null;
  // A page that is not JSON (a login page or an error of a proxy in front) is no number either.
  return numberOf(await res.json().catch(() => null));
}

/** The single number of a Prometheus query answer (vector of one sample, or scalar), else null. */
export function numberOf(body: unknown): number | null {
  const b = body as { status?: string; data?: { resultType?: string; result?: unknown } };
  if (b?.status !== 'success' || !b.data) return null;
  const { resultType, result } = b.data;
  let raw: unknown;
  if (resultType === 'scalar' && Array.isArray(result)) raw = result[1];
  else if (resultType === 'vector' && Array.isArray(result) && result.length === 1) raw = (result[0] as { value?: unknown[] }).value?.[1];
  else return null;
  const v = typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(v) ? v : null;
}
