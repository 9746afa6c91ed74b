import type { FastifyInstance } from 'fastify'

// Every route below this folder needs a valid access token of a live session.
export default async function protect (fastify: FastifyInstance) {
  fastify.addHook('onRequest', fastify.authenticate)
}
