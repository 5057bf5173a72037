// Runs `kiln proxy` (proxyMain from the build) for bench/proxy.js, with paths from argv:
//   node bench/proxy-kiln.js <dir>
// proxyMain prints one line with the public port, which the bench reads.
import * as path from 'node:path';
import { proxyMain } from '../dist/src/proxy/main.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node bench/proxy-kiln.js <dir>');
await proxyMain({
  listenHost: '127.0.0.1',
  listenPort: 0,
  adminSocket: path.join(dir, 'admin.sock'),
  routesFile: path.join(dir, 'routes.json'),
  logFile: path.join(dir, 'proxy.log'),
});
