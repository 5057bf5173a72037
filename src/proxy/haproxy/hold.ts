// `kiln pause` on HAProxy: the Lua action that holds a paused cluster's requests. HAProxy has no
// hold of its own; this action, run for every request of a cluster whose name is in the pause map
// (written by Kiln at run time, `add map`/`del map`, no reload), sleeps in steps of HOLD_STEP_MS
// while the entry is there and its bound (epoch ms) is ahead. At `kiln resume` (the entry gone)
// the request goes on to the backend chosen then; past the bound it is marked, and the next
// rule answers 503. A sleeping request costs its connection and no CPU (`core.msleep` yields).

/** How often a held request looks again: its release comes at most this long after `kiln resume`. */
export const HOLD_STEP_MS = 20;

/** The variable a request past its pause's bound gets (config.ts answers it 503). */
export const EXPIRED_VAR = 'txn.kiln_pause_expired';

/** The Lua source, bound to the pause map's path (a Lua string literal: JSON's escapes are Lua's for these). */
export function holdScript(pauseMap: string): string {
  return [
    '-- Written by Kiln (src/proxy/haproxy/hold.ts): holds the requests of a paused cluster.',
    `local pauses = Map.new(${JSON.stringify(pauseMap)}, Map._str)`,
    'core.register_action("kiln_hold", { "http-req" }, function(txn, cluster)',
    '  while true do',
    '    local v = pauses:lookup(cluster)',
    '    if v == nil then return end',
    '    local now = core.now()',
    '    if now.sec * 1000 + now.usec / 1000 >= (tonumber(v) or 0) then',
    `      txn:set_var("${EXPIRED_VAR}", 1)`,
    '      return',
    '    end',
    `    core.msleep(${HOLD_STEP_MS})`,
    '  end',
    'end, 1)',
    '',
  ].join('\n');
}
