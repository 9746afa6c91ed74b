import fp from 'fastify-plugin'
import type { ChainableCommander } from 'ioredis'
import { ClusterUnavailable, DeadlinePassed, NotReplicated } from './errors/errors.js'
import type { RedisClient } from '../external/redis.js'

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
  /** The client durable writes go through: scripts they run are defined on it too. */
  writer: RedisClient
}

declare module 'fastify' {
  interface FastifyInstance extends ClusterCalls {}
}

interface Pending {
  startedAt: number
  reject: (err: Error) => void
}

/**
 * One sweep every SWEEP_MS fails the calls that passed their deadline, instead of a timer
 * and a race per call: this runs on every protected request, and the deadline almost
 * never fires. A deadline is thus kept to within SWEEP_MS.
 */
const SWEEP_MS = 25

export function createGuard (deadlineMs: number): Guard & { stop: () => void } {
  const pending = new Set<Pending>()
  const sweep = setInterval(() => {
    const overdue = performance.now() - deadlineMs
    for (const call of pending) {
      if (call.startedAt > overdue) continue
      pending.delete(call)
      call.reject(new ClusterUnavailable({ cause: new DeadlinePassed() }))
    }
  }, SWEEP_MS)
  sweep.unref()

  const guard = async <T>(work: Promise<T>) => await new Promise<T>((resolve, reject) => {
    const call = { startedAt: performance.now(), reject }
    pending.add(call)
    work.then((value) => {
      pending.delete(call)
      resolve(value)
    }, (err: unknown) => {
      pending.delete(call)
      reject(new ClusterUnavailable({ cause: err }))
    })
  })
  return Object.assign(guard, { stop: () => clearInterval(sweep) })
}

export default fp(async function clusterCalls (fastify) {
  const { CLUSTER_TIMEOUT_MS, WAIT_REPLICAS: replicas, WAIT_TIMEOUT_MS: timeout } = fastify.config
  const redis = fastify.clusterWriter
  const guard = createGuard(CLUSTER_TIMEOUT_MS)
  fastify.addHook('onClose', async () => guard.stop())

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
  fastify.decorate<RedisClient>('writer', redis)
}, { name: 'cluster-calls', dependencies: ['redis'] })
