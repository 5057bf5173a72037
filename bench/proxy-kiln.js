// Runs `kiln proxy` (proxyMain from a build) for bench/proxy.js and bench/proxy-ab.js, with paths
// from argv:
//   node bench/proxy-kiln.js <dir> [<dist>] [<metrics port>]
// <dist> is the build to run (default: this checkout's dist/), so two builds can be compared;
// with <metrics port> it also serves /metrics there (builds that have metrics).
// proxyMain prints one line with the public port, which the bench reads.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node bench/proxy-kiln.js <dir> [<dist>]');
const dist = path.resolve(process.argv[3] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
const { proxyMain } = await import(pathToFileURL(path.join(dist, 'src', 'proxy', 'main.js')).href);
await proxyMain({
  listenHost: '127.0.0.1',
  listenPort: 0,
  adminSocket: path.join(dir, 'admin.sock'),
  routesFile: path.join(dir, 'routes.json'),
  logFile: path.join(dir, 'proxy.log'),
  ...(process.argv[4] ? { metrics: { host: '127.0.0.1', port: Number(process.argv[4]) } } : {}),
});
