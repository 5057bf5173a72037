// The source revision an app tag was built from: the git commit of the app's directory, marked
// "+dirty" when files under it differ from that commit. Outside a git work tree there is none.
import { spawnSync } from 'node:child_process';

export function gitCommand(dir: string, args: string[]): { file: string; args: string[] } {
  return { file: 'git', args: ['-C', dir, ...args] };
}

function run(dir: string, args: string[]): string | null {
  const c = gitCommand(dir, args);
  const r = spawnSync(c.file, c.args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function sourceRevision(dir: string): string | undefined {
  const commit = run(dir, ['rev-parse', '--verify', 'HEAD']);
  if (!commit) return undefined;
  const dirty = run(dir, ['status', '--porcelain', '--', '.']);
  return dirty ? `${commit.slice(0, 12)}+dirty` : commit.slice(0, 12);
}
