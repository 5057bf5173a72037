// OTLP/HTTP with the JSON encoding: POST <endpoint>/v1/logs. One ResourceLogs per server (its
// tags are resource attributes), one ScopeLogs, and a LogRecord per line. 64-bit integers
// (timeUnixNano) are decimal strings, as the OTLP JSON mapping allows.
import { VERSION } from '../../version.js';
import type { LogLine } from '../types.js';
import { LogExporter, type ExporterOptions, type Encoder } from './exporter.js';
import type { LogStore } from '../store.js';

type AnyValue = { stringValue: string };
interface KeyValue {
  key: string;
  value: AnyValue;
}

const kv = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });

export interface OtlpLogsRequest {
  resourceLogs: Array<{
    resource: { attributes: KeyValue[] };
    scopeLogs: Array<{
      scope: { name: string; version: string };
      logRecords: Array<{ timeUnixNano: string; observedTimeUnixNano: string; body: AnyValue; attributes: KeyValue[] }>;
    }>;
  }>;
}

export function otlpLogsRequest(lines: readonly LogLine[]): OtlpLogsRequest {
  const byServer = new Map<string, { resource: { attributes: KeyValue[] }; records: OtlpLogsRequest['resourceLogs'][number]['scopeLogs'][number]['logRecords'] }>();
  for (const l of lines) {
    const key = `${l.project}\0${l.env}\0${l.cluster}\0${l.group}\0${l.server}`;
    let r = byServer.get(key);
    if (!r) {
      r = {
        resource: {
          attributes: [
            kv('service.name', l.service),
            kv('service.namespace', l.project),
            kv('service.instance.id', l.server),
            kv('deployment.environment.name', l.env),
            kv('kiln.role', l.role),
            kv('kiln.cluster', l.cluster),
            kv('kiln.group', l.group),
          ],
        },
        records: [],
      };
      byServer.set(key, r);
    }
    const nanos = `${l.ts}000000`;
    r.records.push({
      timeUnixNano: nanos,
      observedTimeUnixNano: nanos,
      body: { stringValue: l.text },
      // log.iostream is the semantic-conventions name for stdout/stderr; a --log-file line has none.
      attributes: [kv('kiln.stream', l.stream), ...(l.stream === 'log' ? [] : [kv('log.iostream', l.stream)]), kv('kiln.id', String(l.id))],
    });
  }
  return {
    resourceLogs: [...byServer.values()].map((r) => ({
      resource: r.resource,
      scopeLogs: [{ scope: { name: 'kiln', version: VERSION }, logRecords: r.records }],
    })),
  };
}

export const otlpEncoder: Encoder = {
  path: '/v1/logs',
  encode: (lines) => JSON.stringify(otlpLogsRequest(lines)),
};

/** An exporter to an OpenTelemetry collector: endpoint like http://127.0.0.1:4318. */
export function createOtlpExporter(store: LogStore, opts: ExporterOptions): LogExporter {
  return new LogExporter(store, otlpEncoder, { name: 'otlp', ...opts });
}
