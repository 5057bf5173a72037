// Test helper: an exposition read back into `name{labels}` -> value, exactly as written (label
// order included), so a test names the series it expects. Not a test file itself.

export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The series key `parseExposition` uses, e.g. series('x_total', { cluster: 'web' }). */
export function series(name: string, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels);
  return l.length === 0 ? name : `${name}{${l.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** GET /metrics on 127.0.0.1:<port>, parsed. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return parseExposition(await res.text());
}
