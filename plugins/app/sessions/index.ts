import fp from 'fastify-plugin'
import { createSessionStore, type SessionStore } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionStore
  }
}

export default fp(async function sessions (fastify) {
  const { REFRESH_TOKEN_TTL } = fastify.config
  fastify.decorate('sessions', createSessionStore(fastify.cluster, fastify.keys, REFRESH_TOKEN_TTL))
}, { name: 'sessions', dependencies: ['redis', 'keys'] })
