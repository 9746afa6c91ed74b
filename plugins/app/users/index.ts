import fp from 'fastify-plugin'
import { createUserStore, type UserStore } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    users: UserStore
  }
}

export default fp(async function users (fastify) {
  fastify.decorate('users', await createUserStore(fastify.cluster, fastify, fastify.keys))
}, { name: 'users', dependencies: ['redis', 'cluster-calls', 'keys'] })
