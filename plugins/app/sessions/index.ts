import fp from 'fastify-plugin'
import { createSessionStore, type SessionStore } from './store.js'
import { createRefreshTokens } from './refresh-token.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionStore
  }
}

export default fp(async function sessions (fastify) {
  const { REFRESH_TOKEN_TTL, REFRESH_GRACE_SECONDS } = fastify.config
  const refreshTokens = createRefreshTokens(fastify.keyring.secrets)
  const store = createSessionStore(fastify.cluster, fastify, fastify.keys, refreshTokens, {
    ttlSeconds: REFRESH_TOKEN_TTL,
    graceSeconds: REFRESH_GRACE_SECONDS
  })
  fastify.decorate('sessions', store)
}, { name: 'sessions', dependencies: ['redis', 'cluster-calls', 'keys', 'jwt'] })
