import type { FastifyInstance } from 'fastify'
import { productionSettings, startCluster, type DrillCluster } from './cluster.js'
import { PRODUCTION_BOUNDS, type DrillContext } from './context.js'
import { bearer, closedLoop, timed } from './load.js'
import { placement } from './nodes.js'
import { createUsers, type DrillUser } from './users.js'

// What most drills start from: a cluster of their own with the production settings,
// latch on it with the production bounds, and users made through the API.

export interface Stage {
  cluster: DrillCluster
  server: FastifyInstance
  users: DrillUser[]
}

export async function stage (
  ctx: DrillContext, users: number, sessionsEach: number
): Promise<Stage> {
  const cluster = await startCluster(ctx.base, ctx.defer)
  await productionSettings(cluster)
  const server = await ctx.latch({ REDIS_CLUSTER_NODES: cluster.nodes, ...PRODUCTION_BOUNDS })
  const made = await createUsers(server, users, sessionsEach, placement(await cluster.view()))
  return { cluster, server, users: made }
}

/** `clients` loops of GET /me, each request with the first session of the next user. */
export function meLoop (server: FastifyInstance, users: DrillUser[], clients: number) {
  let next = 0
  return closedLoop(clients, async () => {
    const user = users[next++ % users.length] as DrillUser
    const token = user.sessions[0]?.access_token ?? ''
    return await timed(server, { method: 'GET', url: '/me', headers: bearer(token) },
      user.shard, 'me')
  })
}
