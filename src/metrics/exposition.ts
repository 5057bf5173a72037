// The Prometheus text exposition format, version 0.0.4: what a scrape of /metrics returns.
// Written by hand rather than with a client library: it is a few rules (escaping, number
// spelling, one HELP and TYPE line per family, histogram suffixes) and the proxy needs its
// counters as plain object fields, which no client library hands out.

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** The Content-Type of a scrape's answer (Prometheus picks the parser by it). */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws (a bug, not user input) when a metric name, its type or a label name breaks the format's rules. */
export function checkNames(name: string, type: MetricType, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  if (type === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
  if (type !== 'counter' && name.endsWith('_total')) throw new Error(`${type} ${name} must not end in _total`);
  for (const l of labelNames) {
    if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(l)} of ${name}`);
    if (type === 'histogram' && l === 'le') throw new Error(`histogram ${name} may not have a label "le"`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label name in ${name}`);
}

/** A label value between double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text: backslash and line feed escaped (a double quote stays as it is). */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** A sample value as the format spells it: +Inf, -Inf, NaN, or a Go-parsable float. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** `{a="x",b="y"}`, or nothing without labels. */
export function formatLabels(names: readonly string[], values: readonly string[], extra?: readonly [string, string]): string {
  if (names.length === 0 && !extra) return '';
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return `{${parts.join(',')}}`;
}

/** One family's header lines. */
export function header(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** One sample line. */
export function sample(name: string, names: readonly string[], values: readonly string[], value: number, extra?: readonly [string, string]): string {
  return `${name}${formatLabels(names, values, extra)} ${formatValue(value)}\n`;
}
