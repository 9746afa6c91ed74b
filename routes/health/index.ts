import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { probeCluster } from '../../plugins/external/redis.js'
import { RETRY_AFTER_SECONDS } from '../../plugins/app/errors/errors.js'

const Shards = Type.Array(Type.Object({ node: Type.String(), ok: Type.Boolean() }))

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/live', {
    schema: {
      tags: ['health'],
      summary: 'The process is up',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    schema: {
      tags: ['health'],
      summary: 'Every shard of the cluster answers and every slot is served',
      response: {
        200: Type.Object({ status: Type.Literal('ok'), shards: Shards }),
        503: Type.Object({
          statusCode: Type.Integer(),
          code: Type.String(),
          error: Type.String(),
          message: Type.String(),
          shards: Shards
        })
      }
    }
  }, async (request, reply) => {
    const { ok, shards } = await probeCluster(fastify.cluster)
    if (ok) return { status: 'ok' as const, shards }

    request.log.warn({ shards }, 'cluster not ready')
    return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({
      statusCode: 503,
      code: 'CLUSTER_UNAVAILABLE',
      error: 'Service Unavailable',
      message: 'The cluster does not serve every slot',
      shards
    })
  })
}

export default health
