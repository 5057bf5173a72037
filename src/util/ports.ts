// Free loopback ports, found by letting the kernel pick one. A port handed out recently is not
// handed out again by this process, so two servers started back to back never collide.
import net from 'node:net';

const recent = new Set<number>();

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, host, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (!recent.has(port)) {
      recent.add(port);
      if (recent.size > 4096) recent.delete(recent.values().next().value as number);
      return port;
    }
  }
  throw new Error('no free loopback port found');
}
