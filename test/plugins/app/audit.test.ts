import t from 'tap'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app, { options } from '../../../app.js'
import { testEnv, uniqueName, PASSWORD, type Pair } from '../../helpers/app.js'

// Every security event is one log line with its fields, and a count in /metrics; no line
// ever holds a token or a password.

type Line = Record<string, unknown> & { event?: string, reqId?: string }
type Method = 'GET' | 'POST' | 'DELETE'
type Tap = { teardown: (fn: () => unknown) => void }

const NEW_PASSWORD = 'a second passphrase'
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

/** latch with its log captured, one parsed object per line. */
async function capturedLatch (t: Tap, env: Record<string, string>) {
  const lines: Line[] = []
  const raw: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      raw.push(String(chunk))
      lines.push(JSON.parse(String(chunk)) as Line)
      done()
    }
  })
  const logger = { ...(options.logger as object), level: 'info', stream }
  const server = Fastify({ ...options, logger })
  t.teardown(() => server.close())
  await server.register(fp(app), { env: testEnv(env) })
  await server.ready()
  return { server, lines, raw, send: sender(server) }
}

function sender (server: FastifyInstance) {
  return async (method: Method, url: string, body?: object, token?: string) => {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` }
    return await server.inject({ method, url, payload: body, headers })
  }
}

function events (lines: Line[], name: string): Line[] {
  return lines.filter((line) => line.event === name)
}

async function metricsText (server: FastifyInstance): Promise<string> {
  return (await server.inject({ method: 'GET', url: '/metrics' })).body
}

t.test('a scripted session: each event once, with its fields, and counted', async (t) => {
  const { server, lines, raw, send } = await capturedLatch(t, { REFRESH_GRACE_SECONDS: '1' })
  const name = uniqueName('Audit')
  const username = name.toLowerCase()
  const credentials = { username, password: PASSWORD }
  const logIn = async () => (await send('POST', '/auth/login', credentials)).json<Pair>()

  const { id: userId } = (await send('POST', '/auth/register', credentials)).json()
  t.equal((await send('POST', '/auth/login', { username: name, password: 'not it at all' }))
    .statusCode, 401)
  const a = await logIn()
  const b = await logIn()

  const rotated = (await send('POST', '/auth/refresh', { refresh_token: a.refresh_token })).json()
  t.equal((await send('POST', '/auth/refresh', { refresh_token: a.refresh_token })).statusCode,
    200, 'a retry within the grace window')
  await sleep(1100)
  t.equal((await send('POST', '/auth/refresh', { refresh_token: a.refresh_token })).statusCode,
    401, 'a replay after it')

  const c = await logIn()
  t.equal((await send('DELETE', `/auth/sessions/${c.session_id}`, undefined, b.access_token))
    .statusCode, 204)
  const d = await logIn()
  t.equal((await send('POST', '/auth/logout?scope=others', undefined, b.access_token))
    .statusCode, 204)
  const change = { current_password: PASSWORD, new_password: NEW_PASSWORD }
  t.equal((await send('POST', '/auth/password', change, b.access_token)).statusCode, 204)
  t.equal((await send('DELETE', '/me', { password: NEW_PASSWORD }, b.access_token)).statusCode,
    204)

  t.test('each event, with its fields', async (t) => {
    const expect = (event: string, fields: Record<string, unknown>) => {
      const found = events(lines, event)
      t.equal(found.length, 1, `${event}: one line`)
      t.match(found[0], { level: 30, msg: 'audit', reqId: String, ...fields }, event)
    }
    expect('account.created', { userId })
    expect('login.failed', { username })
    expect('session.ended', { userId, sessionId: c.session_id, endedBy: b.session_id })
    expect('logout', { userId, sessionId: b.session_id, scope: 'others' })
    expect('password.changed', { userId, sessionId: b.session_id })
    expect('account.deleted', { userId })

    const logins = events(lines, 'login.succeeded')
    t.same(logins.map((line) => line.sessionId),
      [a.session_id, b.session_id, c.session_id, d.session_id], 'one per login, in order')
    t.ok(logins.every((line) => line.userId === userId))
    t.match(events(lines, 'refresh.reused'), [
      { userId, sessionId: a.session_id, cause: 'retry' },
      { userId, sessionId: a.session_id, cause: 'theft' }
    ])
  })

  t.test('only a failed login names the user', async (t) => {
    const named = lines.filter((line) => JSON.stringify(line).includes(username))
    t.same(named.map((line) => line.event), ['login.failed'])
  })

  t.test('no line holds a token or a password', async (t) => {
    const log = raw.join('')
    const secrets = [
      a.access_token, a.refresh_token, b.access_token, b.refresh_token, c.access_token,
      d.access_token, rotated.access_token, rotated.refresh_token,
      PASSWORD, NEW_PASSWORD, 'not it at all', '$argon2id$'
    ]
    for (const secret of secrets) t.notOk(log.includes(secret), `${secret.slice(0, 10)}…`)
  })

  t.test('/metrics counts them', async (t) => {
    const text = await metricsText(server)
    const counts = [
      'latch_accounts_created_total 1',
      'latch_logins_total{outcome="success"} 4',
      'latch_logins_total{outcome="failure"} 1',
      'latch_refreshes_total{outcome="rotated"} 1',
      'latch_refreshes_total{outcome="retried"} 1',
      'latch_refreshes_total{outcome="reused"} 1',
      'latch_refresh_reuse_total{cause="retry"} 1',
      'latch_refresh_reuse_total{cause="theft"} 1',
      'latch_revocations_total{kind="logout_others"} 1',
      'latch_revocations_total{kind="logout_local"} 0',
      'latch_revocations_total{kind="session_delete"} 1',
      'latch_revocations_total{kind="password_change"} 1',
      'latch_revocations_total{kind="account_deleted"} 1',
      'latch_revocations_total{kind="refresh_reuse"} 1',
      'latch_http_requests_total{method="POST",route="/auth/login",status="200"} 4',
      'latch_http_requests_total{method="POST",route="/auth/login",status="401"} 1',
      'latch_http_requests_total{method="DELETE",route="/auth/sessions/:id",status="204"} 1',
      'latch_http_request_duration_seconds_count{method="POST",route="/auth/refresh",' +
        'status="401"} 1'
    ]
    for (const line of counts) t.ok(text.split('\n').includes(line), line)
    t.notMatch(text, c.session_id, 'a route pattern, never the URL')
  })
})

t.test('rate limits: a route limit and an account limit', async (t) => {
  const { server, lines, send } = await capturedLatch(t, {
    REGISTER_RATE_PER_IP: '1', LOGIN_FAILURES_PER_ACCOUNT: '1'
  })
  const nobody = { username: uniqueName('nobody'), password: 'a wrong password' }

  t.equal((await send('POST', '/auth/login', nobody)).statusCode, 401)
  t.equal((await send('POST', '/auth/login', nobody)).statusCode, 429)
  const register = { username: uniqueName(), password: PASSWORD }
  t.equal((await send('POST', '/auth/register', register)).statusCode, 201)
  t.equal((await send('POST', '/auth/register', { ...register, username: uniqueName() }))
    .statusCode, 429)

  t.match(events(lines, 'rate_limit.hit'), [
    { route: '/auth/login', limit: 'account', reqId: String },
    { route: '/auth/register', limit: 'route', reqId: String }
  ])
  t.equal(events(lines, 'rate_limit.hit').length, 2)
  const text = (await metricsText(server)).split('\n')
  t.ok(text.includes('latch_rate_limited_total{route="/auth/login",limit="account"} 1'))
  t.ok(text.includes('latch_rate_limited_total{route="/auth/register",limit="route"} 1'))
})
