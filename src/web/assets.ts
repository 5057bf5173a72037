// The dashboard's two static files (app.js, app.css), shipped as they are in src/web/assets and
// read once: nothing is fetched or built at run time. Each is served with its digest as ETag.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
export const ASSET_NAMES = ['app.js', 'app.css'] as const;

/** src/web/assets, from this compiled file (dist/src/web/assets.js) or its source. */
export function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
  return path.join(root, 'src', 'web', 'assets');
}

let cache: Map<string, Asset> | null = null;

export function asset(name: string): Asset | undefined {
  if (!cache) {
    cache = new Map();
    for (const n of ASSET_NAMES) {
      const body = readFileSync(path.join(assetsDir(), n));
      cache.set(n, { body, type: TYPES[path.extname(n)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` });
    }
  }
  return cache.get(name);
}
