// Allocating the uid/gid numbers of a store's servers and builds. No account is created (no
// useradd: test runs would fill /etc/passwd and the 100-999 system range); a number is used only
// as a process's uid/gid and as the owner of its files. Numbers come from a range no distribution
// or container tool hands out (0x70000000.., below 2^31 because Node and some tools take uids as
// signed 32-bit), starting at a hash of (store, subject) so a store gets the same numbers again
// after its state.db row is lost, then probing past numbers that are taken: by this machine
// (system-ids.ts) or by another store (registry.ts). The result is recorded in state.db.
import crypto from 'node:crypto';
import { KilnError } from '../errors.js';
import type { IsolationIdTable } from '../store/isolation-ids.js';
import type { Claim, IdRegistry } from './registry.js';
import type { SystemIds } from './system-ids.js';

export const ID_BASE = 0x70000000;
export const ID_SPAN = 0x01000000;
const MAX_PROBES = 4096;

/** Where probing starts for a subject of a store: stable, spread over the range. */
export function firstCandidate(claim: Claim): number {
  const h = crypto.createHash('sha256').update(`${claim.store}\0${claim.subject}`).digest();
  return ID_BASE + (h.readUInt32BE(0) % ID_SPAN);
}

export interface AllocateDeps {
  table: IsolationIdTable;
  registry: IdRegistry;
  /** Read lazily: only a new allocation needs the machine's view. */
  system: () => SystemIds;
}

/**
 * The number of `subject` in the store `claim.store`: the recorded one while this store still
 * holds its claim, else a new one. A recorded number another store claimed meanwhile (the
 * registry was lost) is given up: the caller re-owns the files for the new number.
 */
export function allocateId(deps: AllocateDeps, claim: Claim): number {
  const recorded = deps.table.get(claim.subject);
  if (recorded !== undefined) {
    if (deps.registry.claim(recorded, claim)) return recorded;
    deps.table.remove(claim.subject);
  }
  const system = deps.system();
  deps.registry.sweep(system.inUse);
  const mine = new Set(deps.table.all().map((r) => r.id));
  const start = firstCandidate(claim) - ID_BASE;
  for (let i = 0; i < MAX_PROBES; i++) {
    const id = ID_BASE + ((start + i) % ID_SPAN);
    if (mine.has(id) || !system.mappable(id) || system.taken(id)) continue;
    if (!deps.registry.claim(id, claim)) continue;
    if (deps.table.put(claim.subject, id)) return id;
    // Another kiln of this store recorded the subject first (with this same number: it probed
    // the same way); take what it recorded.
    const now = deps.table.get(claim.subject);
    if (now !== undefined) {
      if (now !== id) deps.registry.release(id, claim);
      return now;
    }
  }
  throw new KilnError('ISOLATION_UNAVAILABLE', `no free uid/gid number for ${claim.subject} of ${claim.store} after ${MAX_PROBES} tries in ${ID_BASE}..${ID_BASE + ID_SPAN - 1}`, {
    hint: `this user namespace may not map that range (see /proc/self/uid_map); claims are in ${deps.registry.dir}`,
  });
}
