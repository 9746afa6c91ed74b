import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import { loadKeyring, type Keyring } from './keyring.js'

declare module 'fastify' {
  interface FastifyInstance {
    keyring: Keyring
  }
}

export const ISSUER = 'latch'
export const AUDIENCE = 'latch'
/** RFC 9068 type of an access token, so no other JWT of ours passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

function splitList (list: string | undefined): string[] {
  return list === undefined ? [] : list.split(',').map((item) => item.trim()).filter(Boolean)
}

export default fp(async function jwt (fastify) {
  const config = fastify.config
  const keyring = loadKeyring({
    secret: config.JWT_SECRET,
    previousSecrets: splitList(config.JWT_PREVIOUS_SECRETS),
    privateKeyFile: config.JWT_PRIVATE_KEY_FILE,
    publicKeyFiles: splitList(config.JWT_PUBLIC_KEY_FILES),
    issuer: ISSUER,
    audience: AUDIENCE,
    tokenType: ACCESS_TOKEN_TYPE,
    clockSkewSeconds: config.CLOCK_SKEW_SECONDS
  })
  const { algorithm, kid, key } = keyring.signing

  // @fastify/jwt signs with the active key. Verification goes through the keyring, which
  // pins one algorithm per key where @fastify/jwt would share one list across all keys.
  await fastify.register(fastifyJwt, {
    secret: key,
    sign: {
      algorithm,
      kid,
      iss: ISSUER,
      aud: AUDIENCE,
      // @fastify/jwt reads a number as seconds.
      expiresIn: config.ACCESS_TOKEN_TTL,
      header: { alg: algorithm, typ: ACCESS_TOKEN_TYPE, kid }
    },
    verify: { algorithms: [algorithm], allowedIss: ISSUER, allowedAud: AUDIENCE }
  })
  fastify.decorate('keyring', keyring)
}, { name: 'jwt', dependencies: ['config'] })
