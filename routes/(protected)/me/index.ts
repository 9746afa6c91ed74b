import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NoContent, PROTECTED_ERRORS, Password, errors } from '../../schemas.js'

const me: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['account'],
      summary: 'Who the token belongs to',
      security: [{ bearerAuth: [] }],
      response: {
        200: Type.Object({
          id: Type.String(), username: Type.String(), session_id: Type.String()
        }, {
          examples: [{
            id: 'kykyO6VVPomnyW_cldMXEQ', username: 'alice', session_id: 'S_OU8y4axtwhnwqjInDbVA'
          }]
        }),
        ...errors(...PROTECTED_ERRORS)
      }
    }
  }, async (request) => {
    const { userId, username, sessionId } = request.auth
    return { id: userId, username, session_id: sessionId }
  })

  fastify.delete('/', {
    schema: {
      tags: ['account'],
      summary: 'Delete the account: every session ends and the username is free again',
      security: [{ bearerAuth: [] }],
      body: Type.Object({ password: Password }, { additionalProperties: false }),
      response: { 204: NoContent, ...errors(...PROTECTED_ERRORS) }
    }
  }, async (request, reply) => {
    const { userId } = request.auth

    await fastify.users.remove(userId, request.body.password)

    fastify.audit(request, 'account.deleted', { userId })
    return reply.code(204).send(null)
  })
}

export default me
