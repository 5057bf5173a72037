// The one place typed server arguments become an argument vector: each flag style, bare flags,
// positional arguments last, a value never split; the files named, each once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argv, filesOf, hostResolver, planResolver } from './args.js';
import { LOG_FILE, PORT, secret, serverArgs, store } from './testkit.js';

const token = secret('web_token', '/p/.kiln/secrets/dev/web_token@ab');
const args = (style: 'equals' | 'space' | 'single-dash') =>
  serverArgs([['a', 'x y'], ['log-file', LOG_FILE], ['p', PORT], ['quiet', true], ['t', 'file:', token]], style, [['public'], [token]]);
const server = hostResolver({ port: 4100, logFile: '/p/.kiln/logs/s.log' });

test('equals: --name=value; a bare flag is --name; positional arguments after the flags', () => {
  assert.deepEqual(argv(args('equals'), server), [
    '--a=x y', '--log-file=/p/.kiln/logs/s.log', '--p=4100', '--quiet', '--t=file:/p/.kiln/secrets/dev/web_token@ab', 'public', '/p/.kiln/secrets/dev/web_token@ab',
  ]);
});

test('space: --name value as two arguments (a value with a space stays one argument)', () => {
  assert.deepEqual(argv(args('space'), server), [
    '--a', 'x y', '--log-file', '/p/.kiln/logs/s.log', '--p', '4100', '--quiet', '--t', 'file:/p/.kiln/secrets/dev/web_token@ab', 'public', '/p/.kiln/secrets/dev/web_token@ab',
  ]);
});

test('single-dash: -name value', () => {
  assert.deepEqual(argv(args('single-dash'), server), [
    '-a', 'x y', '-log-file', '/p/.kiln/logs/s.log', '-p', '4100', '-quiet', '-t', 'file:/p/.kiln/secrets/dev/web_token@ab', 'public', '/p/.kiln/secrets/dev/web_token@ab',
  ]);
});

test('plans show the per-server values as references; the files are listed once each', () => {
  assert.deepEqual(argv(serverArgs([['db', store('orders', '/p/.kiln/data/dev/orders.db')], ['port', PORT], ['log-file', LOG_FILE]]), planResolver), [
    '--db=/p/.kiln/data/dev/orders.db', '--port=${port}', '--log-file=${log.file}',
  ]);
  assert.deepEqual(filesOf(args('equals')), [token]);
});
