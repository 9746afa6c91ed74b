import fp from 'fastify-plugin'
import type { ChainableCommander } from 'ioredis'
import { ClusterUnavailable, NotReplicated } from './errors/errors.js'

// How latch calls the cluster from a request: never for longer than CLUSTER_TIMEOUT_MS
// (ioredis retries a command through a failover for seconds; a client is better served
// by a prompt 503 and its own retry), and, for writes that must survive a failover, only
// as done once a replica has them.

type Writes = (pipeline: ChainableCommander) => ChainableCommander

/** Runs a cluster call; any failure or slowness of the cluster becomes a 503. */
export type Guard = <T>(work: Promise<T>) => Promise<T>

/**
 * Runs the writes that `build` queues, all in one slot, and answers only once
 * WAIT_REPLICAS replicas have them: a failover can then neither lose a new session nor
 * bring back an ended one. Returns the first command's reply; 503 when unconfirmed.
 */
export type Durable = <T>(build: Writes) => Promise<T>

export interface ClusterCalls {
  guard: Guard
  durable: Durable
}

declare module 'fastify' {
  interface FastifyInstance extends ClusterCalls {}
}

export function createGuard (deadlineMs: number): Guard {
  return async function guard<T> (work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(reject, deadlineMs, new Error('cluster deadline passed'))
    })
    try {
      return await Promise.race([work, deadline])
    } catch (err) {
      throw new ClusterUnavailable({ cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}

export default fp(async function clusterCalls (fastify) {
  const { CLUSTER_TIMEOUT_MS, WAIT_REPLICAS: replicas, WAIT_TIMEOUT_MS: timeout } = fastify.config
  const redis = fastify.cluster
  const guard = createGuard(CLUSTER_TIMEOUT_MS)

  async function write<T> (build: Writes): Promise<T> {
    const pipeline = build(redis.pipeline())
    // WAIT has no key: in the same pipeline it goes down the connection of the master
    // that took the writes, which is the only connection it can speak for.
    if (replicas > 0) pipeline.call('WAIT', replicas, timeout)
    const replies = await pipeline.exec() ?? []
    const failed = replies.find(([err]) => err !== null)
    if (failed?.[0] != null) throw failed[0]
    if (replicas > 0 && Number(replies.at(-1)?.[1]) < replicas) throw new NotReplicated()
    return replies[0]?.[1] as T
  }

  fastify.decorate('guard', guard)
  fastify.decorate('durable', async <T>(build: Writes) => await guard(write<T>(build)))
}, { name: 'cluster-calls', dependencies: ['redis'] })
