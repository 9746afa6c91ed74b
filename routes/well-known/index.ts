import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { NotFound } from '../../plugins/app/errors/errors.js'
import { errors } from '../schemas.js'

// The folder cannot be named ".well-known": the file loader skips hidden folders.
export const autoPrefix = '/.well-known'

const Jwk = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  y: Type.Optional(Type.String()),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.Literal('sig')
})

const wellKnown: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/jwks.json', {
    schema: {
      tags: ['keys'],
      summary: 'Public keys that verify latch access tokens (RFC 7517)',
      description: 'Empty of keys, and so 404, when latch signs with an HS256 secret only.',
      response: { 200: Type.Object({ keys: Type.Array(Jwk) }), ...errors(404) }
    }
  }, async (_request, reply) => {
    const { jwks } = fastify.keyring
    if (jwks.length === 0) throw new NotFound('latch signs with a shared secret: no public keys')

    // Other services cache the key set; a retired key stays listed until removed.
    reply.header('cache-control', 'public, max-age=300')
    return { keys: jwks as Array<Static<typeof Jwk>> }
  })
}

export default wellKnown
