// The role-named load balancer behind one interface (ARCHITECTURE.md, "Deploy: always new
// servers"): what a deploy, a rollback and a clean-up ask of whatever carries a cluster's traffic.
// Kiln's own proxy and its route table (proxy-load-balancer.ts) for process and podman
// environments; a Kubernetes Service whose selector names the group
// (runtime/kubernetes/service-load-balancer.ts). The deploy decides which group serves; the load
// balancer only makes it so and says when it is.

export interface Want {
  cluster: string;
  /** The group the cluster must route to (null: no route at all, as after `kiln down`). */
  group: string | null;
}

export type Confirmation = { ok: true; attempts: number } | { ok: false; detail: string };

export interface LoadBalancer {
  /** How messages name it: "kiln proxy", "the cluster Services". */
  readonly name: string;
  /** What to look at when it does not route as asked. */
  readonly troubleshoot: string;
  /**
   * Makes every cluster of `want` route to its group — in one step where the engine has one (the
   * proxy: one route table) — and resolves once the engine itself reports routing so, or with
   * what it saw when `timeoutMs` runs out (0: one attempt). With no `want`, it sends what the
   * state says once (the proxy: the table without groups being destroyed).
   */
  route(want: readonly Want[], opts?: { timeoutMs?: number }): Promise<Confirmation>;
  /** Requests in flight to a group, or null when the engine cannot tell (a drain then only waits its grace). */
  inFlight(group: string): Promise<number | null>;
}
