import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFound } from '../../../plugins/app/errors/errors.js'
import { NoContent, PROTECTED_ERRORS, errors } from '../../schemas.js'

const Session = Type.Object({
  id: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({
    format: 'date-time', description: 'updated at most once a minute'
  }),
  user_agent: Type.String(),
  ip: Type.String(),
  current: Type.Boolean({ description: 'the session of the token making this request' })
})

const sessions: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/sessions', {
    schema: {
      tags: ['sessions'],
      summary: "The caller's live sessions",
      security: [{ bearerAuth: [] }],
      response: {
        200: Type.Object({ sessions: Type.Array(Session) }, {
          examples: [{
            sessions: [{
              id: 'S_OU8y4axtwhnwqjInDbVA',
              created_at: '2026-01-05T09:12:44.000Z',
              last_used_at: '2026-01-05T09:40:02.000Z',
              user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/146.0',
              ip: '203.0.113.7',
              current: true
            }]
          }]
        }),
        ...errors(...PROTECTED_ERRORS)
      }
    }
  }, async (request) => {
    const { userId, sessionId } = request.auth

    const live = await fastify.sessions.list(userId)

    return {
      sessions: live.map((session) => ({
        id: session.id,
        created_at: new Date(session.createdAt).toISOString(),
        last_used_at: new Date(session.lastUsedAt).toISOString(),
        user_agent: session.userAgent,
        ip: session.ip,
        current: session.id === sessionId
      }))
    }
  })

  fastify.delete('/sessions/:id', {
    schema: {
      tags: ['sessions'],
      summary: "End one of the caller's sessions",
      security: [{ bearerAuth: [] }],
      params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{22}$' }) }),
      response: { 204: NoContent, ...errors(...PROTECTED_ERRORS, 404) }
    }
  }, async (request, reply) => {
    const { userId, sessionId } = request.auth
    const { id } = request.params

    // The key is built from the caller's own id: another user's session cannot match.
    const ended = await fastify.sessions.end(userId, id)
    if (!ended) throw new NotFound('No such session')

    fastify.audit(request, 'session.ended', { userId, sessionId: id, endedBy: sessionId })
    return reply.code(204).send(null)
  })
}

export default sessions
