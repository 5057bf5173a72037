// Ships stored lines to an external system (OTLP, Loki). The exporter reads the store by id
// (its cursor is saved in logs.db, so a restart resumes) into a bounded queue and POSTs batches
// (by count, bytes or age). A down or slow endpoint never blocks ingestion: the tailer does not
// know exporters exist. While an endpoint fails, batches are retried with exponential backoff
// and the queue keeps the newest lines, dropping (and counting) the oldest. Delivery is
// at-least-once: a batch sent just before a crash may be sent again.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogStore } from '../store.js';
import type { LogLine } from '../types.js';
import { postJson } from './http.js';

export interface Encoder {
  /** Appended to the endpoint, e.g. /v1/logs. */
  path: string;
  encode(lines: readonly LogLine[]): string;
}

export interface ExporterOptions {
  /** Base URL, e.g. http://127.0.0.1:4318; the encoder's path is appended. */
  endpoint: string;
  /** Names the saved cursor in logs.db; two exporters of one kind need different names. */
  name?: string;
  /** Extra request headers (e.g. a tenant id). */
  headers?: Record<string, string>;
  batchLines?: number;
  batchBytes?: number;
  /** Send a batch that is not full once its oldest line waited this long (ms). */
  flushMs?: number;
  /** Lines held in memory at most; beyond it the oldest are dropped. */
  maxQueue?: number;
  timeoutMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How often to look for new lines when no tailer in this process wakes the exporter (ms). */
  pollMs?: number;
  onError?: (message: string) => void;
}

export interface ExporterStats {
  name: string;
  url: string;
  sent: number;
  dropped: number;
  /** Lines the endpoint refused for good (a 4xx answer): not retried. */
  rejected: number;
  queued: number;
  /** Every line with an id up to this one was sent, dropped or rejected. */
  cursor: number;
  /** Failed attempts in a row (0 when the endpoint is healthy). */
  failures: number;
  lastError?: string;
}

export class LogExporter {
  readonly name: string;
  readonly url: URL;
  private readonly o: Required<Omit<ExporterOptions, 'name' | 'endpoint' | 'onError' | 'headers'>>;
  private queue: LogLine[] = [];
  private queuedSince = 0;
  private inflight: LogLine[] | null = null;
  private readCursor: number;
  private sent: number;
  private dropped: number;
  private rejected = 0;
  private failures = 0;
  private lastError: string | undefined;
  private lastSaved = 0;
  private running = false;
  private ac = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LogStore,
    private readonly encoder: Encoder,
    private readonly opts: ExporterOptions & { name: string },
  ) {
    this.name = opts.name;
    this.url = new URL(opts.endpoint.replace(/\/+$/, '') + encoder.path);
    this.o = {
      batchLines: opts.batchLines ?? 1000,
      batchBytes: opts.batchBytes ?? 1 << 20,
      flushMs: opts.flushMs ?? 1000,
      maxQueue: opts.maxQueue ?? 10_000,
      timeoutMs: opts.timeoutMs ?? 10_000,
      retryInitialMs: opts.retryInitialMs ?? 250,
      retryMaxMs: opts.retryMaxMs ?? 30_000,
      pollMs: opts.pollMs ?? 500,
    };
    const c = store.cursor(this.name);
    this.readCursor = c.lastId;
    this.sent = c.sent;
    this.dropped = c.dropped;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.ac = new AbortController();
    this.loopDone = this.loop().catch((e: Error) => this.report(`stopped: ${e.message}`));
  }

  /** Stops at once (an unfinished batch is sent again after the next start) and saves the cursor. */
  async stop(): Promise<void> {
    this.running = false;
    this.ac.abort();
    await this.loopDone;
    this.saveCursor(true);
  }

  stats(): ExporterStats {
    return {
      name: this.name, url: this.url.href, sent: this.sent, dropped: this.dropped, rejected: this.rejected,
      queued: this.queue.length + (this.inflight?.length ?? 0), cursor: this.doneUpTo(), failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.fill(false);
      const batch = this.takeBatch();
      if (!batch) {
        await this.wait(this.queue.length ? Math.max(1, this.queuedSince + this.o.flushMs - Date.now()) : this.o.pollMs);
        continue;
      }
      this.inflight = batch;
      if (!(await this.send(batch))) return; // stopped: the batch stays unsent (cursor before it)
      this.inflight = null;
      this.saveCursor(true);
    }
  }

  /** Reads new lines into the queue. While the endpoint fails, keeps reading and drops the oldest. */
  private fill(failing: boolean): void {
    const room = failing ? this.o.maxQueue : this.o.maxQueue - this.queue.length;
    if (room <= 0) return;
    const lines = this.store.readAfter(this.readCursor, room);
    if (lines.length === 0) return;
    // A gap in ids: retention deleted lines before they were exported.
    const gap = lines[0]!.id - this.readCursor - 1;
    if (gap > 0 && this.readCursor > 0) this.dropped += gap;
    this.readCursor = lines.at(-1)!.id;
    if (this.queue.length === 0) this.queuedSince = Date.now();
    this.queue.push(...lines);
    const over = this.queue.length - this.o.maxQueue;
    if (over > 0) {
      this.queue.splice(0, over);
      this.dropped += over;
      this.saveCursor(false);
    }
  }

  private takeBatch(): LogLine[] | null {
    if (this.queue.length === 0) return null;
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.o.batchLines && (n === 0 || bytes < this.o.batchBytes)) bytes += this.queue[n++]!.text.length;
    const full = n === this.o.batchLines || bytes >= this.o.batchBytes;
    if (!full && Date.now() - this.queuedSince < this.o.flushMs && this.running) return null;
    const batch = this.queue.splice(0, n);
    this.queuedSince = Date.now();
    return batch;
  }

  /** POSTs until it is accepted or refused for good; false if stopped first. */
  private async send(batch: LogLine[]): Promise<boolean> {
    const body = this.encoder.encode(batch);
    let delay = this.o.retryInitialMs;
    for (;;) {
      if (!this.running) return false;
      try {
        const r = await postJson(this.url, body, this.opts.headers ?? {}, this.o.timeoutMs, this.ac.signal);
        if (r.status >= 200 && r.status < 300) {
          this.sent += batch.length;
          this.failures = 0;
          return true;
        }
        if (r.status !== 408 && r.status !== 429 && r.status < 500) {
          this.rejected += batch.length;
          this.report(`${this.url.href} refused ${batch.length} line(s): HTTP ${r.status} ${r.body.slice(0, 200)}`);
          return true;
        }
        this.fail(`HTTP ${r.status} ${r.body.slice(0, 200)}`);
      } catch (e) {
        if (!this.running) return false;
        this.fail((e as Error).message);
      }
      // Full jitter around the delay, so many exporters don't retry in step.
      await this.wait(delay * (0.5 + Math.random() / 2), false);
      delay = Math.min(delay * 2, this.o.retryMaxMs);
      this.fill(true);
    }
  }

  private fail(message: string): void {
    this.failures++;
    this.lastError = message;
    // The first failure and then every 10th: a down endpoint must not flood the control plane's log.
    if (this.failures === 1 || this.failures % 10 === 0) this.report(`${this.url.href}: ${message} (attempt ${this.failures}, retrying)`);
  }

  private report(message: string): void {
    this.opts.onError?.(`log export ${this.name}: ${message}`);
  }

  private doneUpTo(): number {
    const first = this.inflight?.[0] ?? this.queue[0];
    return first ? first.id - 1 : this.readCursor;
  }

  private saveCursor(now: boolean): void {
    if (!now && Date.now() - this.lastSaved < 1000) return;
    this.lastSaved = Date.now();
    if (!this.store.db.open) return;
    this.store.setCursor(this.name, { lastId: this.doneUpTo(), sent: this.sent, dropped: this.dropped });
  }

  /** Sleeps `ms`, or less: a stop, or (if wakeOnAppend) new lines in the store, end it early. */
  private async wait(ms: number, wakeOnAppend = true): Promise<void> {
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    this.ac.signal.addEventListener('abort', onStop, { once: true });
    if (wakeOnAppend) this.store.events.once('append', onStop);
    try {
      await sleep(ms, undefined, { signal: ac.signal });
    } catch {
      // woken early
    } finally {
      this.ac.signal.removeEventListener('abort', onStop);
      this.store.events.removeListener('append', onStop);
    }
  }
}
