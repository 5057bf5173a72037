// Parsers of HAProxy's runtime-API answers, on answers HAProxy 2.6 gave (the engine's e2e test
// runs them against the real one too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFailure, parseProc, parseServersState, parseStat } from './runtime-api.js';

test('show servers state: backend, name, address, port, admin state', () => {
  const text = [
    '1',
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port',
    '3 c_web 1 web-v001-1 127.0.0.1 2 8 1 1 0 6 3 4 6 0 0 0 - 19001 - 0 0 - - 0',
    '3 c_web 4 web-v002-1_fallback 127.0.0.1 0 1 1 1 8 1 0 0 0 0 0 0 - 19002 - 0 0 - - 0',
    '',
  ].join('\n');
  assert.deepEqual(parseServersState(text), [
    { backend: 'c_web', name: 'web-v001-1', addr: '127.0.0.1', port: 19001, adminState: 8 },
    { backend: 'c_web', name: 'web-v002-1_fallback', addr: '127.0.0.1', port: 19002, adminState: 1 },
  ]);
});

test('show stat: rows by column name', () => {
  const rows = parseStat('# pxname,svname,qcur,qmax,scur\nc_web,web-v001-1,0,0,3\nc_web,BACKEND,0,0,3\n');
  assert.deepEqual(rows, [
    { pxname: 'c_web', svname: 'web-v001-1', qcur: '0', qmax: '0', scur: '3' },
    { pxname: 'c_web', svname: 'BACKEND', qcur: '0', qmax: '0', scur: '3' },
  ]);
});

test('show proc: master, current workers, old workers still finishing', () => {
  const text = [
    '#<PID>          <type>          <reloads>       <uptime>        <version>      ',
    '18462           master          1 [failed: 0]   0d00h10m37s     2.6.12-1+deb12u4',
    '# workers',
    '31010           worker          0               0d00h00m01s     2.6.12-1+deb12u4',
    '# old workers',
    '18469           worker          1               0d00h10m36s     2.6.12-1+deb12u4',
    '# programs',
    '',
  ].join('\n');
  assert.deepEqual(parseProc(text), { master: 18462, workers: [31010], oldWorkers: [18469] });
});

test('answers: empty and the two confirmations are success, HAProxy\'s prose is a failure', () => {
  assert.equal(isFailure(''), false);
  assert.equal(isFailure('New server registered.'), false);
  assert.equal(isFailure('Server deleted.'), false);
  assert.equal(isFailure('Only servers in maintenance mode can be deleted.'), true);
  assert.equal(isFailure("No such server."), true);
  // A server given a new port (its address kept) is told so, which is no failure.
  assert.equal(isFailure("no need to change the addr, port changed from '34813' to '36741' by 'stats socket command'"), false);
  assert.equal(isFailure("IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'"), false);
});
