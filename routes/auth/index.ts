import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { InvalidCredentials } from '../../plugins/app/errors/errors.js'
import { Credentials, TokenPair, errors } from '../schemas.js'

const auth: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/register', {
    schema: {
      tags: ['auth'],
      summary: 'Create an account',
      body: Credentials,
      response: {
        201: Type.Object({ id: Type.String(), username: Type.String() }),
        ...errors(400, 409, 429, 503)
      }
    }
  }, async (request, reply) => {
    const { username, password } = request.body

    const user = await fastify.users.register(username, password)

    request.log.info({ userId: user.id }, 'account created')
    return reply.code(201).send(user)
  })

  fastify.post('/login', {
    schema: {
      tags: ['auth'],
      summary: 'Exchange a username and password for a token pair',
      body: Credentials,
      response: { 200: TokenPair, ...errors(400, 401, 429, 503) }
    }
  }, async (request) => {
    const { username, password } = request.body

    const user = await fastify.users.authenticate(username, password)
    if (user === null) throw new InvalidCredentials()

    const session = await fastify.sessions.create({
      userId: user.id,
      username: user.username,
      userAgent: (request.headers['user-agent'] ?? '').slice(0, 256),
      ip: request.ip
    })
    return fastify.tokens.pair(user.id, session)
  })
}

export default auth
