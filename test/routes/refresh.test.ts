import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, get, signedIn, testEnv, TEST_SECRET } from '../helpers/app.js'

async function refresh (server: FastifyInstance, token: unknown) {
  return await server.inject({
    method: 'POST', url: '/auth/refresh', payload: { refresh_token: token }
  })
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('POST /auth/refresh', async (t) => {
  const server = await build(t, testEnv({ REFRESH_GRACE_SECONDS: '1' }))

  t.test('rotates: a new pair, and the old token keeps nothing but a grace retry', async (t) => {
    const user = await signedIn(server)
    const res = await refresh(server, user.refresh_token)
    t.equal(res.statusCode, 200)
    const pair = res.json()
    t.equal(pair.token_type, 'Bearer')
    t.equal(pair.session_id, user.session_id, 'same session')
    t.not(pair.refresh_token, user.refresh_token)
    t.not(pair.access_token, user.access_token)
    t.equal((await get(server, '/me', pair.access_token)).statusCode, 200)
    t.equal((await get(server, '/me', user.access_token)).statusCode, 200,
      'rotation does not cut off the outstanding access token')

    const next = await refresh(server, pair.refresh_token)
    t.equal(next.statusCode, 200, 'the successor works in turn')
  })

  t.test('a replay after the grace window ends the whole session', async (t) => {
    const user = await signedIn(server)
    const first = (await refresh(server, user.refresh_token)).json()
    await sleep(1200)

    const replay = await refresh(server, user.refresh_token)
    t.equal(replay.statusCode, 401)
    t.equal(replay.json().code, 'INVALID_REFRESH_TOKEN')
    t.equal((await refresh(server, first.refresh_token)).statusCode, 401,
      'the legitimate successor is dead too')
    t.equal((await get(server, '/me', first.access_token)).statusCode, 401)
    t.equal((await get(server, '/me', user.access_token)).statusCode, 401)
  })

  t.test('a token two generations old also ends the session', async (t) => {
    const user = await signedIn(server)
    const first = (await refresh(server, user.refresh_token)).json()
    const second = (await refresh(server, first.refresh_token)).json()
    t.equal((await refresh(server, user.refresh_token)).statusCode, 401)
    t.equal((await get(server, '/me', second.access_token)).statusCode, 401)
  })

  t.test('anything latch did not issue is refused and changes nothing', async (t) => {
    const user = await signedIn(server)
    const [uid, sid, nonce, tag = ''] = user.refresh_token.split('.')
    const forgedTag = `${uid}.${sid}.${nonce}.${tag.startsWith('A') ? 'B' : 'A'}${tag.slice(1)}`
    const otherDeployment = await build(t, {
      ...testEnv(), KEY_PREFIX: server.config.KEY_PREFIX, JWT_SECRET: `${TEST_SECRET}-elsewhere`
    })
    const foreign = await signedIn(otherDeployment)
    const candidates = [
      user.access_token, 'garbage', `${uid}.${sid}`, forgedTag, `${user.refresh_token}.x`,
      foreign.refresh_token, `${uid}.${sid}.${foreign.refresh_token.split('.').slice(2).join('.')}`
    ]
    for (const token of candidates) {
      const res = await refresh(server, token)
      t.equal(res.statusCode, 401, token.slice(0, 30))
      t.equal(res.json().code, 'INVALID_REFRESH_TOKEN')
      t.notMatch(res.body, token)
    }
    t.equal((await get(server, '/me', user.access_token)).statusCode, 200, 'session untouched')
    t.equal((await refresh(server, user.refresh_token)).statusCode, 200, 'token still good')
  })

  t.test('bad bodies are 400', async (t) => {
    for (const payload of [{}, { refresh_token: 42 }, { refresh_token: '' }, { other: 'x' }]) {
      const res = await server.inject({ method: 'POST', url: '/auth/refresh', payload })
      t.equal(res.statusCode, 400, JSON.stringify(payload))
    }
  })

  t.test('an expired session cannot be refreshed', async (t) => {
    const user = await signedIn(server)
    await server.cluster.pexpire(server.keys.session(user.id, user.session_id), 1)
    await sleep(20)
    t.equal((await refresh(server, user.refresh_token)).statusCode, 401)
  })

  t.test('refreshing renews the session lifetime', async (t) => {
    const user = await signedIn(server)
    const key = server.keys.session(user.id, user.session_id)
    await server.cluster.expire(key, 600)
    t.equal((await refresh(server, user.refresh_token)).statusCode, 200)
    t.ok(await server.cluster.ttl(key) > 2_500_000, 'a full REFRESH_TOKEN_TTL again')
  })
})

t.test('20 parallel refreshes of one token all get the same successor', async (t) => {
  const server = await build(t)
  const user = await signedIn(server)

  const answers = await Promise.all(
    Array.from({ length: 20 }, async () => await refresh(server, user.refresh_token)))

  t.same(answers.map((res) => res.statusCode), Array(20).fill(200))
  const successors = new Set(answers.map((res) => res.json().refresh_token))
  t.equal(successors.size, 1, 'one and the same new refresh token')
  const [successor] = [...successors]
  t.not(successor, user.refresh_token)
  for (const res of answers) {
    t.equal((await get(server, '/me', res.json().access_token)).statusCode, 200)
  }
  t.equal((await refresh(server, successor)).statusCode, 200, 'the session survives')
})
