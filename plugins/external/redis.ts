import fp from 'fastify-plugin'
import fastifyRedis from '@fastify/redis'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

/** The cluster client, or a single node when REDIS_URL is set. */
export type RedisClient = Cluster | Redis

declare module 'fastify' {
  interface FastifyInstance {
    /** Reads and quick writes: the hot path's connection to each node. */
    cluster: RedisClient
    /**
     * Writes that wait for a replica. WAIT holds its connection until the replica answers,
     * so it gets connections of its own: reads never queue behind a WAIT.
     */
    clusterWriter: RedisClient
  }
}

const CONNECT_DEADLINE_MS = 10_000

// Per-node settings. A server must never wait unboundedly on Redis: a command that has no
// answer within this time fails, and the route answers 503 instead of hanging.
const nodeOptions: RedisOptions = {
  commandTimeout: 500,
  connectTimeout: 1000,
  maxRetriesPerRequest: 1,
  enableAutoPipelining: true
}

export const clusterOptions: ClusterOptions = {
  redisOptions: nodeOptions,
  // Batches the commands of concurrent requests into one write per node: the hot path
  // then costs a fraction of a round trip per request.
  enableAutoPipelining: true,
  // Without a ready cluster, fail at once rather than queueing requests without bound.
  enableOfflineQueue: false,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  // ioredis only learns of a new topology from MOVED replies unless it polls.
  slotsRefreshInterval: 5000,
  slotsRefreshTimeout: 1000,
  lazyConnect: true
}

export function parseNodes (list: string): Array<{ host: string, port: number }> {
  return list.split(',').map((entry) => {
    const at = entry.lastIndexOf(':')
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) }
  })
}

export function createClient (nodes: string, url?: string): RedisClient {
  if (url !== undefined) {
    return new Redis(url, { ...nodeOptions, enableOfflineQueue: false, lazyConnect: true })
  }
  return new Cluster(parseNodes(nodes), clusterOptions)
}

/** Connects, or fails with a message that names where latch looked. */
export async function connect (client: RedisClient, where: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${CONNECT_DEADLINE_MS} ms`))
    }, CONNECT_DEADLINE_MS)
  })
  try {
    await Promise.race([client.connect(), deadline])
  } catch (err) {
    client.disconnect()
    const reason = err instanceof Error ? err.message : String(err)
    throw new Error(`Cannot reach Redis at ${where}: ${reason}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}

export default fp(async function redis (fastify) {
  const { REDIS_CLUSTER_NODES, REDIS_URL } = fastify.config
  const where = REDIS_URL === undefined ? REDIS_CLUSTER_NODES : 'REDIS_URL'
  const [client, writer] = [1, 2].map(() => {
    const created = createClient(REDIS_CLUSTER_NODES, REDIS_URL)
    // ioredis reports every failed reconnect; one line per event is enough.
    created.on('error', (err: Error) => fastify.log.warn({ err }, 'redis client error'))
    return created
  }) as [RedisClient, RedisClient]

  await Promise.all([connect(client, where), connect(writer, where)])
  // @fastify/redis owns the clients' lifetime: it quits them when the server closes.
  await fastify.register(fastifyRedis, { client: client as Redis, closeClient: true })
  await fastify.register(fastifyRedis, {
    client: writer as Redis, closeClient: true, namespace: 'writer'
  })
  fastify.decorate<RedisClient>('cluster', client)
  fastify.decorate<RedisClient>('clusterWriter', writer)
}, { name: 'redis', dependencies: ['config'] })

export interface ShardHealth {
  node: string
  ok: boolean
}

export interface ClusterHealth {
  ok: boolean
  shards: ShardHealth[]
}

const PROBE_TIMEOUT_MS = 500

async function answersOk (node: Redis, command: string[], healthy: RegExp): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(''), PROBE_TIMEOUT_MS)
  })
  try {
    const [name, ...args] = command as [string, ...string[]]
    const reply = await Promise.race([node.call(name, ...args), timeout])
    return healthy.test(String(reply))
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

function nodeName (node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`
}

/**
 * Asks every master that the client routes to whether it is up and sees a healthy
 * cluster. Ready means every shard answers and every slot has a master.
 */
export async function probeCluster (client: RedisClient): Promise<ClusterHealth> {
  if (!(client instanceof Cluster)) {
    const ok = await answersOk(client, ['PING'], /^PONG$/)
    return { ok, shards: [{ node: nodeName(client), ok }] }
  }
  const masters = client.nodes('master')
  const shards = await Promise.all(masters.map(async (node) => ({
    node: nodeName(node),
    ok: await answersOk(node, ['CLUSTER', 'INFO'], /cluster_state:ok/)
  })))
  const covered = client.slots.length === 16_384 && client.slots.every((owners) => owners?.length)
  return { ok: covered && shards.length > 0 && shards.every((shard) => shard.ok), shards }
}
