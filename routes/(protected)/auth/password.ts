import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NoContent, PROTECTED_ERRORS, Password, errors } from '../../schemas.js'

const password: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/password', {
    schema: {
      tags: ['account'],
      summary: 'Change the password; every other session ends',
      security: [{ bearerAuth: [] }],
      body: Type.Object({
        current_password: Password,
        new_password: Password
      }, { additionalProperties: false }),
      response: { 204: NoContent, ...errors(...PROTECTED_ERRORS) }
    }
  }, async (request, reply) => {
    const { userId, sessionId } = request.auth
    const { current_password: current, new_password: next } = request.body

    await fastify.users.changePassword(userId, sessionId, current, next)

    fastify.audit(request, 'password.changed', { userId, sessionId })
    return reply.code(204).send(null)
  })
}

export default password
