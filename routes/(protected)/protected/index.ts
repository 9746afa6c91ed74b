import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { PROTECTED_ERRORS, errors } from '../../schemas.js'

const greeting: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['example'],
      summary: 'An example of a route behind latch',
      security: [{ bearerAuth: [] }],
      response: {
        200: Type.Object({ message: Type.String() }),
        ...errors(...PROTECTED_ERRORS)
      }
    }
  }, async (request) => ({ message: `Hello, ${request.auth.username}!` }))
}

export default greeting
