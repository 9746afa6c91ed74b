import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'

export const ISSUER = 'latch'
export const AUDIENCE = 'latch'
/** RFC 9068 type of an access token, so no other JWT of ours passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

const REQUIRED_CLAIMS = ['sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud']

export default fp(async function jwt (fastify) {
  const { JWT_SECRET, ACCESS_TOKEN_TTL } = fastify.config
  await fastify.register(fastifyJwt, {
    secret: JWT_SECRET,
    sign: {
      algorithm: 'HS256',
      iss: ISSUER,
      aud: AUDIENCE,
      expiresIn: ACCESS_TOKEN_TTL * 1000,
      header: { alg: 'HS256', typ: ACCESS_TOKEN_TYPE }
    },
    verify: {
      // Pinning the algorithm refuses `none` and every algorithm but HS256.
      algorithms: ['HS256'],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      requiredClaims: REQUIRED_CLAIMS,
      checkTyp: ACCESS_TOKEN_TYPE,
      // Caching a verified signature is safe: the session is still looked up per request.
      cache: true
    }
  })
}, { name: 'jwt', dependencies: ['config'] })
