import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PROTECTED_ERRORS, errors } from '../../schemas.js'

const me: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['account'],
      summary: 'Who the token belongs to',
      security: [{ bearerAuth: [] }],
      response: {
        200: Type.Object({ id: Type.String(), username: Type.String(), session_id: Type.String() }),
        ...errors(...PROTECTED_ERRORS)
      }
    }
  }, async (request) => {
    const { userId, username, sessionId } = request.auth
    return { id: userId, username, session_id: sessionId }
  })
}

export default me
