// Benchmark backend for bench/proxy.js: a minimal Node HTTP server answering every request with
// a fixed ~100-byte body. Prints its port on stdout once listening; exits on SIGTERM.
import * as http from 'node:http';

const body = Buffer.from(JSON.stringify({ service: 'bench', version: 'v001', ok: true, pad: 'x'.repeat(48) }) + '\n');
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
