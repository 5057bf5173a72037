// Loki's push API with JSON: POST <endpoint>/loki/api/v1/push. One stream per server and
// stream (its tags are the labels: few values each, as Loki wants), values [ns-string, line].
import type { LogLine } from '../types.js';
import type { LogStore } from '../store.js';
import { LogExporter, type ExporterOptions, type Encoder } from './exporter.js';

export interface LokiPushRequest {
  streams: Array<{ stream: Record<string, string>; values: Array<[string, string]> }>;
}

export function lokiPushRequest(lines: readonly LogLine[]): LokiPushRequest {
  const streams = new Map<string, LokiPushRequest['streams'][number]>();
  for (const l of lines) {
    const key = `${l.project}\0${l.env}\0${l.cluster}\0${l.group}\0${l.server}\0${l.stream}`;
    let s = streams.get(key);
    if (!s) {
      s = {
        stream: { project: l.project, env: l.env, service: l.service, role: l.role, cluster: l.cluster, group: l.group, server: l.server, stream: l.stream },
        values: [],
      };
      streams.set(key, s);
    }
    s.values.push([`${l.ts}000000`, l.text]);
  }
  return { streams: [...streams.values()] };
}

export const lokiEncoder: Encoder = {
  path: '/loki/api/v1/push',
  encode: (lines) => JSON.stringify(lokiPushRequest(lines)),
};

/** An exporter to Loki: endpoint like http://127.0.0.1:3100. */
export function createLokiExporter(store: LogStore, opts: ExporterOptions): LogExporter {
  return new LogExporter(store, lokiEncoder, { name: 'loki', ...opts });
}
