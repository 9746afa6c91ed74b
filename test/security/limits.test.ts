import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, login, register, testEnv, uniqueName, PASSWORD } from '../helpers/app.js'
import { keysMatching } from '../helpers/state.js'

// Limits are counted in the cluster: two instances sharing it share every limit.

async function attempt (
  server: FastifyInstance, username: string, password: string, headers = {}
) {
  return await server.inject({
    method: 'POST', url: '/auth/login', headers, payload: { username, password }
  })
}

interface Answer {
  statusCode: number
  headers: Record<string, unknown>
  json: () => { code: string }
}

function expectLimited (t: Test, res: Answer) {
  t.equal(res.statusCode, 429)
  t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After in seconds')
  t.equal(res.json().code, 'RATE_LIMITED')
}

t.test('logins per client address, across two instances', async (t) => {
  const env = testEnv({ LOGIN_RATE_PER_IP: '4' })
  const first = await build(t, env)
  const second = await build(t, env)
  const { username } = await register(first)

  t.equal((await attempt(first, username, PASSWORD)).statusCode, 200)
  t.equal((await attempt(second, username, PASSWORD)).statusCode, 200)
  t.equal((await attempt(first, username, 'wrong password')).statusCode, 401)
  t.equal((await attempt(second, username, PASSWORD)).statusCode, 200)
  expectLimited(t, await attempt(first, username, PASSWORD))
  expectLimited(t, await attempt(second, username, PASSWORD))

  const elsewhere = await attempt(first, username, PASSWORD, { 'x-forwarded-for': '203.0.113.9' })
  expectLimited(t, elsewhere)
  t.pass('X-Forwarded-For is not trusted unless configured')
})

t.test('with TRUST_PROXY, the forwarded address is the client', async (t) => {
  const server = await build(t, testEnv({ LOGIN_RATE_PER_IP: '1' }), { trustProxy: true })
  const { username } = await register(server)
  const from = (ip: string) => ({ 'x-forwarded-for': ip })
  t.equal((await attempt(server, username, PASSWORD, from('198.51.100.1'))).statusCode, 200)
  expectLimited(t, await attempt(server, username, PASSWORD, from('198.51.100.1')))
  t.equal((await attempt(server, username, PASSWORD, from('198.51.100.2'))).statusCode, 200)
})

t.test('failed logins per account, whatever the address', async (t) => {
  const env = testEnv({ LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const first = await build(t, env)
  const second = await build(t, env, { trustProxy: true })
  const { username } = await register(first)
  const bystander = await register(first)

  t.equal((await attempt(first, username, 'guess one')).statusCode, 401)
  t.equal((await attempt(second, username, 'guess two', { 'x-forwarded-for': '192.0.2.7' }))
    .statusCode, 401)
  t.equal((await attempt(first, username.toUpperCase(), 'guess three')).statusCode, 401)
  expectLimited(t, await attempt(first, username, PASSWORD))
  expectLimited(t, await attempt(second, username, PASSWORD, { 'x-forwarded-for': '192.0.2.8' }))
  t.equal((await attempt(first, bystander.username, PASSWORD)).statusCode, 200,
    'other accounts are not affected')

  // The window passing, for real: the counter expires in Redis.
  const counters = await keysMatching(first, `${first.config.KEY_PREFIX}rate:*`)
  t.ok(counters.length > 0)
  for (const key of counters) await first.cluster.pexpire(key, 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await attempt(first, username, PASSWORD)).statusCode, 200,
    'the owner logs in again once the window has passed')
})

t.test('unknown accounts are limited alike, so a 429 reveals nothing', async (t) => {
  const server = await build(t, testEnv({ LOGIN_FAILURES_PER_ACCOUNT: '2' }))
  const ghost = uniqueName('ghost')
  t.equal((await attempt(server, ghost, PASSWORD)).statusCode, 401)
  t.equal((await attempt(server, ghost, PASSWORD)).statusCode, 401)
  expectLimited(t, await attempt(server, ghost, PASSWORD))
})

t.test('registrations per address', async (t) => {
  const server = await build(t, testEnv({ REGISTER_RATE_PER_IP: '2' }))
  t.equal((await register(server)).res.statusCode, 201)
  t.equal((await register(server)).res.statusCode, 201)
  const name = uniqueName()
  expectLimited(t, (await register(server, name)).res)
  t.equal((await attempt(server, name, PASSWORD)).statusCode, 401, 'no account was created')
})

t.test('refreshes per session', async (t) => {
  const server = await build(t, testEnv({ REFRESH_RATE_PER_SESSION: '2' }))
  const { username } = await register(server)
  let token = (await login(server, username)).refresh_token
  const other = (await login(server, username)).refresh_token
  const refresh = async (refreshToken: string) => await server.inject({
    method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken }
  })
  for (let i = 0; i < 2; i++) {
    const res = await refresh(token)
    t.equal(res.statusCode, 200)
    token = res.json().refresh_token
  }
  expectLimited(t, await refresh(token))
  t.equal((await refresh(other)).statusCode, 200, 'another session has its own budget')
})
