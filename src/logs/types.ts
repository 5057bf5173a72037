// The shapes of the central log store (ARCHITECTURE.md, "Platform services": logs).
// Every line a server writes is kept with the tags that say where it came from.

/**
 * Which of a server's files a line was read from: its --log-file, or its stdout / stderr; or
 * `kiln`: what Kiln itself says about the server's logs (a log file it refused to read).
 */
export type LogStream = 'log' | 'stdout' | 'stderr' | 'kiln';

export const LOG_STREAMS: readonly LogStream[] = ['log', 'stdout', 'stderr', 'kiln'];

/** Where a line came from. The control plane knows all of these when it starts a server. */
export interface LogTags {
  project: string;
  env: string;
  service: string;
  role: string;
  cluster: string;
  group: string;
  server: string;
  stream: LogStream;
}

/** One stored line. `ts` is when Kiln read it (ms since the epoch), never decreasing with `id`. */
export interface LogLine extends LogTags {
  id: number;
  ts: number;
  text: string;
}

/** A file to follow and the tags its lines get. */
export interface LogSource {
  path: string;
  tags: LogTags;
}
