'use strict';
// The api's worker role: no port, periodic work (here a heartbeat line a second in the log),
// graceful stop on SIGTERM so the current unit of work finishes before exit.
const rt = require('./runtime.js');

function runWorker({ program, version, logFile, greeting, intervalMs = 1000 }) {
  const log = rt.openLog(program, logFile, { service: 'api', mode: 'worker', version, pid: process.pid });
  let beats = 0;
  log.write('start', { intervalMs, greeting });
  process.stdout.write(`${program} ${version} started (pid ${process.pid}), heartbeat every ${intervalMs} ms\n`);
  const timer = setInterval(() => {
    beats++;
    log.write('heartbeat', { beats });
  }, intervalMs);
  const stop = (signal) => {
    clearInterval(timer);
    log.write('stopped', { signal, beats });
    log.close(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

module.exports = { runWorker };
