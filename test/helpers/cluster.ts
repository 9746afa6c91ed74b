import { startCluster, type DrillCluster } from '../../scripts/drills/cluster.js'

// Tests that break a cluster on purpose get a cluster of their own, so that the other
// test files, running in parallel on the shared one, never see the damage. Their ports
// are offsets from the shared test cluster's (TEST_CLUSTER_PORT_BASE, 7100 by default),
// so two test runs with different bases never collide.
// Offsets in use: 300 and 310 health.test.ts; 400-460 test/drills (one per file).
const sharedBase = Number(process.env.TEST_CLUSTER_PORT_BASE ?? 7100)

type Test = { teardown: (fn: () => unknown) => void }

/** nodes, ports, masterOf, kill, restart and more: see scripts/drills/cluster.ts. */
export type OwnCluster = DrillCluster

/** A six-node cluster of the test's own on TEST_CLUSTER_PORT_BASE + `offset`. */
export async function ownCluster (t: Test, offset: number): Promise<OwnCluster> {
  return await startCluster(sharedBase + offset, (fn) => t.teardown(fn))
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function eventually (check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`condition not met within ${ms} ms`)
}
