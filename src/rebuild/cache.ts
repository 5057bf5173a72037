// .kiln/cache/rebuild.json: per app, the source key its head tag was built from; per image, the
// inputs it was built from. Only a shortcut: losing it means one rebuild builds again (and,
// content being identical, still makes no new tag). Written atomically.
import fs from 'node:fs';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../store/atomic.js';

export interface RebuildCache {
  apps: Record<string, { key: string; digest: string }>;
  images: Record<string, { key: string; digest: string; ref: string }>;
}

const file = (kilnDir: string): string => path.join(kilnDir, 'cache', 'rebuild.json');

export function readRebuildCache(kilnDir: string): RebuildCache {
  try {
    const v = JSON.parse(fs.readFileSync(file(kilnDir), 'utf8')) as Partial<RebuildCache>;
    return { apps: v.apps ?? {}, images: v.images ?? {} };
  } catch {
    return { apps: {}, images: {} };
  }
}

export function writeRebuildCache(kilnDir: string, c: RebuildCache): void {
  ensureDir(path.dirname(file(kilnDir)));
  writeFileAtomic(file(kilnDir), JSON.stringify(c));
}
