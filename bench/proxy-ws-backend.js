// Benchmark backend for bench/proxy-ws.js: answers every upgrade request with 101 and echoes
// every byte back (what a WebSocket echo server does, minus framing, which a proxy never reads).
// Prints its port on stdout once listening; exits on SIGTERM.
import * as http from 'node:http';

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(426, { 'Content-Length': 0 });
  res.end();
});
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  socket.setNoDelay(true);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  if (head.length > 0) socket.write(head);
  socket.pipe(socket);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
