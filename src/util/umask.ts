// Kiln runs with umask 077 (cli/main.ts: nothing it writes under .kiln is readable by others).
// Programs that make files for containers — mmdebstrap writing a root filesystem, podman and
// skopeo unpacking image layers into containers-storage — must not inherit it: a layer's root
// directory (which has no tar entry) would be made 0700, and a container's unprivileged user
// could not reach /run/podman-init or anything else. A child inherits the umask when it is
// spawned, so it is set for exactly that synchronous call.

/** Runs `spawnIt` (which must spawn synchronously) with the umask set to `mask`, then restores it. */
export function withUmask<T>(mask: number, spawnIt: () => T): T {
  const previous = process.umask(mask);
  try {
    return spawnIt();
  } finally {
    process.umask(previous);
  }
}

/** The usual umask for system files: readable by everyone, writable by the owner. */
export const SYSTEM_UMASK = 0o022;
