import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import config, { type ConfigOptions } from '../../plugins/external/config.js'
import redis from '../../plugins/external/redis.js'
import jwt from '../../plugins/external/jwt/index.js'
import keys from '../../plugins/app/keys.js'
import clusterCalls from '../../plugins/app/cluster-calls.js'
import tokens from '../../plugins/app/tokens.js'
import sessions from '../../plugins/app/sessions/index.js'
import errors from '../../plugins/app/errors/index.js'
import authenticate from '../../plugins/app/authenticate.js'
import { options as latchOptions } from '../../app.js'

// Another Fastify service that accepts latch's access tokens. It shares latch's cluster,
// KEY_PREFIX and JWT_SECRET, and reads them from the same variables, so a logout at
// latch cuts off the token here on the very next request, as it does at latch.

/**
 * Registers the plugins that verifying a latch token takes, in dependency order, and
 * decorates `authenticate`: an onRequest hook that accepts only a valid token of a live
 * session and sets `request.auth`. Register it inside an encapsulated plugin (as below)
 * to keep latch's error handler, which writes the WWW-Authenticate challenges, to the
 * routes it protects.
 */
export async function registerLatchVerification (
  fastify: FastifyInstance, options: ConfigOptions = {}
): Promise<void> {
  await fastify.register(config, options)
  await fastify.register(redis)
  await fastify.register(jwt)
  await fastify.register(keys)
  await fastify.register(clusterCalls)
  await fastify.register(tokens)
  await fastify.register(sessions)
  await fastify.register(errors)
  await fastify.register(authenticate)
}

interface Order { id: string, item: string }

/** The service: its own routes, one of them behind latch. */
export async function buildOtherService (
  options: ConfigOptions = {}, serverOptions: FastifyServerOptions = {}
): Promise<FastifyInstance> {
  const server = Fastify(serverOptions)

  await server.register(async function orders (scope) {
    await registerLatchVerification(scope, options)

    scope.get('/orders', { onRequest: scope.authenticate }, async (request) => {
      const orders: Order[] = [{ id: 'o-1', item: 'a teapot' }]
      return { userId: request.auth.userId, orders }
    })
  })

  server.get('/health', async () => ({ status: 'ok' }))
  return server
}

async function main (): Promise<void> {
  // A random development secret would verify no token of latch's: refuse to guess.
  if (process.env.JWT_SECRET === undefined) {
    throw new Error('set JWT_SECRET to the secret latch uses')
  }
  // latch's log settings: no Authorization header, no query string (it may hold a token).
  const logger = { ...(latchOptions.logger as object), level: 'info' }
  const server = await buildOtherService({}, { logger })
  await server.listen({
    host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.ORDERS_PORT ?? 3001)
  })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
