import type { Cluster } from 'ioredis'
import type { FastifyInstance } from 'fastify'

/**
 * Everything latch keeps under the server's prefix, read from every master, with the
 * values: comparing two snapshots shows whether a request changed anything. Rate-limit
 * counters are left out; counting a hostile request is not changing state.
 */
export async function snapshot (server: FastifyInstance): Promise<Record<string, unknown>> {
  const prefix = server.config.KEY_PREFIX
  const keys = (await keysMatching(server, `${prefix}*`))
    .filter((key) => !key.startsWith(`${prefix}rate:`))

  const state: Record<string, unknown> = {}
  for (const key of keys) state[key] = await valueOf(server, key)
  return state
}

/** Keys matching a pattern on every master (KEYS through a cluster client asks one node). */
export async function keysMatching (server: FastifyInstance, pattern: string): Promise<string[]> {
  const cluster = server.cluster as Cluster
  const found = await Promise.all(cluster.nodes('master').map(async (node) => {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      keys.push(...batch)
      cursor = next
    } while (cursor !== '0')
    return keys
  }))
  return found.flat().sort()
}

async function valueOf (server: FastifyInstance, key: string): Promise<unknown> {
  const redis = server.cluster
  switch (await redis.type(key)) {
    case 'hash': return await redis.hgetall(key)
    case 'zset': return await redis.zrange(key, 0, -1, 'WITHSCORES')
    case 'string': return await redis.get(key)
    default: return null
  }
}
