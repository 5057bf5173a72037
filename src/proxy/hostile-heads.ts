// The corpus of hostile request heads the HAProxy oracle test (haproxy-oracle.test.ts) sends to
// both proxies: framing tricks (CL/TE), Connection-nominated framing/Host/X-Forwarded-*, bad
// chunks, absolute URIs, malformed names and values, HTTP/1.0 keep-alive, pipelining, upgrades.
// `framed` is how many requests the client framed (RFC 9112 read strictly); no proxy may let a
// backend see more. Not a test file itself.

export interface HostileHead {
  name: string;
  bytes: string;
  framed: number;
}

const H = 'Host: web.test\r\n';
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: web.test\r\n\r\n';
const POST_SMUGGLED = `POST /orders HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`;

const c = (name: string, bytes: string, framed = 1): HostileHead => ({ name, bytes, framed });

export const HOSTILE_HEADS: readonly HostileHead[] = [
  // Content-Length / Transfer-Encoding
  c('CL then TE', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('TE then CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 46\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('two differing CLs', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 46\r\n\r\nhello${SMUGGLED}`),
  c('two equal CLs', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`),
  c('a CL list', `POST / HTTP/1.1\r\n${H}Content-Length: 5, 46\r\n\r\nhello${SMUGGLED}`),
  c('a CL with a plus sign', `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`),
  c('a negative CL', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n${SMUGGLED}`),
  c('a hex CL', `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`),
  c('a CL past 2^64', `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\nhello`),
  c('an empty CL', `POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\n${SMUGGLED}`),
  c('TE chunked, gzip (chunked not last)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('TE xchunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('TE identity', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello`),
  c('TE with a space before the colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`),
  c('TE with a tab before the colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('TE chunked twice', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
  c('TE with a vertical tab', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('a chunk size that is not hex', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`),
  c('a chunk size past 2^64', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n0\r\n\r\n`),
  c('a negative chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`),
  c('a chunk longer than its size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
  c('a chunk without its CRLF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n${SMUGGLED}`),
  c('chunk lines ending in bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n${SMUGGLED}`),
  // Connection: nominating the framing, Host, the proxy's own headers
  c('Connection nominates Content-Length (issue 11)', `GET /items HTTP/1.1\r\n${H}Connection: keep-alive, Content-Length\r\nContent-Length: ${POST_SMUGGLED.length}\r\n\r\n${POST_SMUGGLED}`),
  c('Connection nominates content-length on a POST', `POST / HTTP/1.1\r\n${H}Connection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`),
  c('Connection nominates Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`),
  c('Connection nominates Host', `GET / HTTP/1.1\r\n${H}Connection: Host\r\n\r\n`),
  c('Connection nominates X-Forwarded-For', `GET / HTTP/1.1\r\n${H}X-Forwarded-For: 10.0.0.1\r\nConnection: X-Forwarded-For, X-Forwarded-Host\r\n\r\n`),
  // Request targets and Host
  c('an absolute URI without Host', 'GET http://web.test/ HTTP/1.1\r\n\r\n'),
  c('an absolute URI whose host differs from Host', `GET http://admin.test/ HTTP/1.1\r\n${H}\r\n`),
  c('an absolute URI with user information', `GET http://x@web.test/ HTTP/1.1\r\n${H}\r\n`),
  c('an absolute URI whose port differs from Host', `GET http://web.test:8080/ HTTP/1.1\r\n${H}\r\n`),
  c('an asterisk target on GET', `GET * HTTP/1.1\r\n${H}\r\n`),
  c('two Host headers', `GET / HTTP/1.1\r\n${H}Host: admin.test\r\n\r\n`),
  c('a Host with a space inside', 'GET / HTTP/1.1\r\nHost: web.test admin.test\r\n\r\n'),
  c('a Host with a path', 'GET / HTTP/1.1\r\nHost: web.test/x\r\n\r\n'),
  c('no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n'),
  // Names and values
  c('a space before the colon in Host', 'GET / HTTP/1.1\r\nHost : web.test\r\n\r\n'),
  c('a space in a header name', `GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`),
  c('an empty header name', `GET / HTTP/1.1\r\n${H}: x\r\n\r\n`),
  c('NUL in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`),
  c('a bare CR in a value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`),
  c('a control character in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`),
  c('obs-fold', `GET / HTTP/1.1\r\n${H}X-A: one\r\n Transfer-Encoding: chunked\r\n\r\n`),
  c('bare LF line ends', 'GET / HTTP/1.1\nHost: web.test\nX-A: 1\n\n'),
  c('a header line without a colon', `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`),
  // Request lines and versions
  c('HTTP/1.0 keep-alive with a body holding a request', `POST / HTTP/1.0\r\n${H}Connection: keep-alive\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`),
  c('HTTP/1.0 with Transfer-Encoding', `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`),
  c('HTTP/0.9', 'GET /\r\n\r\n'),
  c('HTTP/2.0 in a request line', `GET / HTTP/2.0\r\n${H}\r\n`),
  c('two spaces in the request line', `GET  / HTTP/1.1\r\n${H}\r\n`),
  c('a space in the target', `GET /a b HTTP/1.1\r\n${H}\r\n`),
  c('a method with a slash', `GE/T / HTTP/1.1\r\n${H}\r\n`),
  // Pipelining
  c('two pipelined GETs', `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n`, 2),
  c('a POST with a body, then a GET', `POST /1 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n${H}\r\n`, 2),
  c('a GET whose body is a request', `GET /1 HTTP/1.1\r\n${H}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`),
  // Upgrades
  // The backend answers 200, not 101: what follows the head is the client's next request.
  c('an h2c upgrade refused, then a request', `GET / HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n${SMUGGLED}`, 2),
  c('a WebSocket upgrade on POST with a body', `POST /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`),
  c('Upgrade without Connection: Upgrade', `GET /ws HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`),
  c('Expect: 100-continue with a body', `POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`),
];
