// One JSON POST with a timeout and an abort signal. Node's own http/https: no dependency.
import http from 'node:http';
import https from 'node:https';

export interface PostResult {
  status: number;
  /** The start of the answer's body, for error messages. */
  body: string;
}

export function postJson(url: URL, body: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<PostResult> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body);
    const req = mod.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length) },
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 2048) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.slice(0, 2048) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
