import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from '../util/table.js';
import { colourEnabled, paint } from './colour.js';

test('a table: header row, every column aligned to its widest cell, no trailing blanks', () => {
  assert.equal(
    formatTable(['NAME', 'DIGEST', 'CREATED'], [['r1', 'sha256:ab', '2026-01-01'], ['r10', 'sha256:abcdef', '']]),
    ['NAME  DIGEST         CREATED', 'r1    sha256:ab      2026-01-01', 'r10   sha256:abcdef'].join('\n'),
  );
  assert.equal(formatTable(['NAME', 'X'], [['café', '1'], ['ab', '2']]), 'NAME  X\ncafé  1\nab    2');
});

test('colour only on a terminal, never with NO_COLOR or TERM=dumb', () => {
  assert.equal(colourEnabled({ isTTY: true }, {}), true);
  assert.equal(colourEnabled({ isTTY: false }, {}), false);
  assert.equal(colourEnabled({}, {}), false);
  assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count (no-color.org)');
  assert.equal(colourEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.equal(paint('red', 'kiln:', true), '\u001b[31mkiln:\u001b[0m');
  assert.equal(paint('red', 'kiln:', false), 'kiln:');
});
