import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NoContent, PROTECTED_ERRORS, errors } from '../../schemas.js'

const Scope = Type.Union([Type.Literal('local'), Type.Literal('others'), Type.Literal('global')], {
  default: 'local',
  description: 'local: this session; others: every other session; global: all of them'
})

const sessionAuth: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/logout', {
    schema: {
      tags: ['auth'],
      summary: 'End this session, the other sessions, or all sessions of the user',
      security: [{ bearerAuth: [] }],
      querystring: Type.Object({ scope: Scope }, { additionalProperties: false }),
      response: { 204: NoContent, ...errors(...PROTECTED_ERRORS) }
    }
  }, async (request, reply) => {
    const { userId, sessionId } = request.auth
    const { scope } = request.query

    await fastify.sessions.logout(userId, sessionId, scope)

    fastify.audit(request, 'logout', { userId, sessionId, scope })
    return reply.code(204).send(null)
  })
}

export default sessionAuth
