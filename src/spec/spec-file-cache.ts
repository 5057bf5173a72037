// kiln.yaml as the control plane reads it again and again (every status call, every deploy, the
// Kubernetes watch): parsing and validating it costs milliseconds, reading it microseconds. The
// file is read each time and parsed only when its text changed, so an edit is seen at once.
// The one check that looks outside the text (app.path is a directory) is then as of that parse:
// the control plane's deploys take the apps from their release, not from those directories.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSpec, parseSpec } from './load.js';
import type { ProjectSpec } from './types.js';

export class SpecFileCache {
  private last: { text: string; spec: ProjectSpec } | null = null;
  private readonly file: string;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  /** The spec of the file's text now; a text that does not load throws, as loadSpec does, each time. */
  load(): ProjectSpec {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return loadSpec(this.file); // throws the error that names the file
    }
    if (this.last?.text === text) return this.last.spec;
    const spec = parseSpec(text, this.file);
    this.last = { text, spec };
    return spec;
  }
}
