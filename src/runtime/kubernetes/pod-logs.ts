// Central logs for a Kubernetes environment: one follower per environment keeps a streaming
// `GET …/pods/<pod>/log?follow=true&timestamps=true` open for each of its pods and hands the
// lines to the log store. On Kubernetes the container's output is the node's log channel (the
// kubelet keeps and rotates it, and the API serves it), so the app's --log-file is its stderr
// and this one stream carries stdout, stderr and the log file. A restarted control plane resumes
// each pod from the last stored timestamp (pod-log-lines.ts), so a line is stored once.
import type { LogTags } from '../../logs/types.js';
import type { KubeClient } from './client.js';
import { K8S_LABEL } from './manifests.js';
import { ResumeFilter, sinceTimeOf, TimestampedLineSplitter, type ResumeCursor } from './pod-log-lines.js';
import type { PodView } from './pods.js';

/** Where the lines go: the log store, with a resume cursor per pod saved with each batch. */
export interface PodLogSink {
  cursor(source: string): ResumeCursor | null;
  /** Stores `texts` and moves the source's cursor to `cursor`, in one transaction. */
  append(source: string, tags: LogTags, texts: string[], cursor: ResumeCursor): void;
  /** Drops cursors starting with `prefix` whose source is not in `keep` (pod names are never reused). */
  forget(prefix: string, keep: ReadonlySet<string>): void;
}

export interface PodLogFollowerOptions {
  client: KubeClient;
  project: string;
  env: string;
  /** The tags of a pod's lines but server and stream, from its labels; null: not a Kiln server. */
  tagsOf: (labels: Record<string, string>) => Omit<LogTags, 'server' | 'stream'> | null;
  sink: PodLogSink;
  log: (message: string) => void;
}

interface Stream {
  abort: AbortController;
  done: Promise<void>;
}

export class PodLogFollower {
  private readonly streams = new Map<string, Stream>();
  /** Pods whose last error was logged: a pod being deleted fails each pass until it is gone. */
  private readonly failed = new Map<string, string>();
  private readonly prefix: string;
  private stopped = false;

  constructor(private readonly o: PodLogFollowerOptions) {
    this.prefix = `k8s:${o.client.namespace}/`;
  }

  /** One pass: follow every pod not followed yet; a pod whose stream ended is followed again (resumed). */
  async sync(): Promise<void> {
    const pods = await this.o.client.list<PodView>('Pod', { [K8S_LABEL.project]: this.o.project, [K8S_LABEL.env]: this.o.env });
    for (const p of pods) {
      if (this.stopped || this.streams.has(p.metadata.name) || !hasOutput(p)) continue;
      const tags = this.o.tagsOf(p.metadata.labels ?? {});
      if (tags) this.follow(p.metadata.name, { ...tags, server: p.metadata.name, stream: 'log' });
    }
    const names = new Set([...pods.map((p) => p.metadata.name), ...this.streams.keys()]);
    for (const pod of this.failed.keys()) if (!names.has(pod)) this.failed.delete(pod);
    this.o.sink.forget(this.prefix, new Set([...names].map((n) => this.prefix + n)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.streams.values()) s.abort.abort();
    await Promise.all([...this.streams.values()].map((s) => s.done));
  }

  private follow(pod: string, tags: LogTags): void {
    const source = this.prefix + pod;
    const abort = new AbortController();
    const stored = this.o.sink.cursor(source);
    const filter = new ResumeFilter(stored);
    const split = new TimestampedLineSplitter();
    const take = (lines: ReturnType<TimestampedLineSplitter['push']>): void => {
      const texts = lines.filter((l) => filter.admit(l)).map((l) => l.text);
      if (texts.length) this.o.sink.append(source, tags, texts, filter.cursor!);
    };
    const query: Record<string, string> = { timestamps: 'true', ...(stored ? { sinceTime: sinceTimeOf(stored) } : {}) };
    let storeError: Error | null = null;
    const onData = (chunk: Buffer): void => {
      try {
        take(split.push(chunk));
      } catch (e) {
        // Not stored, so not counted: cut the stream; the next pass resumes from the cursor.
        storeError = e as Error;
        abort.abort();
      }
    };
    const done = this.o.client
      .streamPodLog(pod, query, onData, abort.signal)
      .then((complete) => {
        if (storeError) throw storeError;
        // A log the API ended (container exited) may end in a line without "\n"; a cut stream's
        // partial line is not stored, so it is read whole on resume.
        if (complete) take(split.end());
      })
      .then(() => void this.failed.delete(pod))
      .catch((e: Error) => {
        if (this.failed.get(pod) !== e.message) this.o.log(`logs of pod ${pod}: ${e.message}`);
        this.failed.set(pod, e.message);
      })
      .finally(() => this.streams.delete(pod));
    this.streams.set(pod, { abort, done });
  }
}

/** A pod whose container has run has a log to read; before that the API answers 400. */
function hasOutput(p: PodView): boolean {
  const c = p.status?.containerStatuses?.[0];
  return Boolean(c?.state?.running || c?.state?.terminated);
}
