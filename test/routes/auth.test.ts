import t from 'tap'
import { build, register, login, uniqueName, PASSWORD } from '../helpers/app.js'

t.test('POST /auth/register', async (t) => {
  const server = await build(t)

  t.test('creates an account with a canonical username', async (t) => {
    const name = uniqueName('Alice')
    const { res } = await register(server, name)
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.match(body.id, /^[A-Za-z0-9_-]{22}$/)
    t.equal(body.username, name.toLowerCase())
    t.same(Object.keys(body).sort(), ['id', 'username'])
  })

  t.test('refuses a taken username, in any case or width', async (t) => {
    const name = uniqueName('bob')
    t.equal((await register(server, name)).res.statusCode, 201)

    const fullWidth = [...name].map((c) => /[a-z]/.test(c)
      ? String.fromCharCode(c.charCodeAt(0) - 0x61 + 0xff41)
      : c).join('')
    for (const lookAlike of [name, name.toUpperCase(), fullWidth]) {
      const { res } = await register(server, lookAlike, 'another password entirely')
      t.equal(res.statusCode, 409, lookAlike)
      t.equal(res.json().code, 'USERNAME_TAKEN')
    }
    const original = await server.inject({
      method: 'POST', url: '/auth/login', payload: { username: name, password: PASSWORD }
    })
    t.equal(original.statusCode, 200, 'the first owner keeps the account and password')
  })

  t.test('refuses names with invisible or disallowed characters', async (t) => {
    const names = ['ab', 'zero\u200bwidth', 'tab\tname', 'sp ace', 'brace{x}', 'x'.repeat(33)]
    for (const username of names) {
      const { res } = await register(server, username)
      t.equal(res.statusCode, 400, JSON.stringify(username))
      t.equal(res.json().code, 'INVALID_USERNAME')
    }
  })

  t.test('refuses bad bodies with 400 and a JSON error', async (t) => {
    const bodies: unknown[] = [
      {},
      { username: uniqueName() },
      { password: PASSWORD },
      { username: uniqueName(), password: 'short' },
      { username: uniqueName(), password: 'x'.repeat(1025) },
      { username: 42, password: PASSWORD },
      { username: uniqueName(), password: PASSWORD, admin: true },
      [uniqueName(), PASSWORD]
    ]
    for (const payload of bodies) {
      const res = await server.inject({
        method: 'POST', url: '/auth/register', payload: payload as object
      })
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.match(res.json(), { statusCode: 400, code: String, error: 'Bad Request', message: String })
      t.notMatch(res.body, PASSWORD)
    }
  })

  t.test('refuses malformed JSON and other content types', async (t) => {
    const broken = await server.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "x", '
    })
    t.equal(broken.statusCode, 400)
    t.equal(broken.json().statusCode, 400)

    const form = await server.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=a&password=b'
    })
    t.equal(form.statusCode, 415)
    t.equal(form.json().statusCode, 415)

    const text = await server.inject({ method: 'POST', url: '/auth/register', payload: 'alice' })
    t.equal(text.statusCode, 415)
  })

  t.test('refuses prototype-poisoning bodies', async (t) => {
    const res = await server.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: `{"username":"${uniqueName()}","password":"${PASSWORD}","__proto__":{"x":1}}`
    })
    t.equal(res.statusCode, 400)
  })
})

t.test('POST /auth/login', async (t) => {
  const server = await build(t)
  const { username } = await register(server)

  t.test('returns a token pair', async (t) => {
    const res = await server.inject({
      method: 'POST', url: '/auth/login', payload: { username, password: PASSWORD }
    })
    t.equal(res.statusCode, 200)
    const pair = res.json()
    t.same(Object.keys(pair).sort(), [
      'access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'session_id',
      'token_type'
    ])
    t.equal(pair.token_type, 'Bearer')
    t.equal(pair.expires_in, 900)
    t.equal(pair.refresh_expires_in, 2_592_000)
    t.match(pair.session_id, /^[A-Za-z0-9_-]{22}$/)
    t.ok(pair.refresh_token.length >= 43, 'at least 256 bits')
    const claims = JSON.parse(Buffer.from(pair.access_token.split('.')[1], 'base64url').toString())
    t.equal(claims.exp - claims.iat, 900, 'the access token lives ACCESS_TOKEN_TTL seconds')
    t.not(pair.refresh_token, pair.access_token)
  })

  t.test('accepts any case or width of the username', async (t) => {
    const res = await server.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: username.toUpperCase(), password: PASSWORD }
    })
    t.equal(res.statusCode, 200)
  })

  t.test('each login is its own session', async (t) => {
    const first = await login(server, username)
    const second = await login(server, username)
    t.not(first.session_id, second.session_id)
  })

  t.test('unknown user and wrong password look the same', async (t) => {
    const wrong = await server.inject({
      method: 'POST', url: '/auth/login', payload: { username, password: 'not the password' }
    })
    const unknown = await server.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: uniqueName('ghost'), password: PASSWORD }
    })
    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, 401)
    t.equal(wrong.body, unknown.body)
    t.equal(wrong.json().code, 'INVALID_CREDENTIALS')
    const headersOf = (res: typeof wrong) => {
      const {
        date: _date, 'x-ratelimit-remaining': _remaining, 'x-ratelimit-reset': _reset, ...rest
      } = res.headers
      return rest
    }
    t.same(headersOf(wrong), headersOf(unknown))
    t.notMatch(wrong.body, 'not the password')
  })

  t.test('refuses bad bodies with 400', async (t) => {
    for (const payload of [{}, { username }, { username, password: 7 }]) {
      const res = await server.inject({ method: 'POST', url: '/auth/login', payload })
      t.equal(res.statusCode, 400)
    }
  })
})
