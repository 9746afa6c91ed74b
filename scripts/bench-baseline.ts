// The servers latch is compared with, on one port: env PORT (default 3720) and JWT_SECRET.
//   GET /bare       answers like /me from constants and never reads the token: what
//                   Fastify itself costs, the ceiling for any route.
//   GET /stateless  verifies the bearer token the way latch does, with no revocation
//                   check: what most JWT setups run today.
import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { Type } from '@sinclair/typebox'

interface Claims {
  sub: string
  sid: string
}

// The same schema as GET /me, so both serialise the same shape.
const Me = Type.Object({ id: Type.String(), username: Type.String(), session_id: Type.String() })

// A token carries no username and this server has no store: a constant of the length of
// the bench's usernames keeps the response as long as latch's.
const USERNAME = 'bench-000000'
const BARE = {
  id: 'AAAAAAAAAAAAAAAAAAAAAA', username: USERNAME, session_id: 'BBBBBBBBBBBBBBBBBBBBBB'
}

async function main () {
  const secret = process.env.JWT_SECRET
  if (secret === undefined || secret.length < 32) throw new Error('JWT_SECRET is required')
  const server = Fastify({ logger: false })

  // The checks latch makes of an HS256 access token (plugins/external/jwt), written out
  // here so that this server depends on nothing of latch's.
  await server.register(fastifyJwt, {
    secret,
    verify: {
      algorithms: ['HS256'],
      allowedIss: 'latch',
      allowedAud: 'latch',
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud'],
      checkTyp: 'at+jwt',
      clockTolerance: 30_000,
      // Verified signatures are remembered, as latch does: the bench's tokens all fit.
      cache: 10_000
    }
  })

  const schema = { response: { 200: Me } }
  server.get('/bare', { schema }, async () => BARE)
  server.get('/stateless', { schema }, async (request) => {
    const claims = await request.jwtVerify<Claims>()
    return { id: claims.sub, username: USERNAME, session_id: claims.sid }
  })

  const close = () => { server.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGTERM', close)
  process.once('SIGINT', close)
  await server.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3720) })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
