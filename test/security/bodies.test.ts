import t from 'tap'
import { build, register, uniqueName, PASSWORD } from '../helpers/app.js'
import { snapshot } from '../helpers/state.js'

// Hostile request bodies: each gets its exact status, a JSON error without a stack or an
// echo of what was sent, and changes nothing in the cluster.

const json = { 'content-type': 'application/json' }

t.test('hostile bodies', async (t) => {
  const server = await build(t)
  const { username } = await register(server)
  const before = await snapshot(server)
  const name = uniqueName()

  const cases: Array<[string, string, Record<string, string>, string, number]> = [
    ['a body over 8 KiB', '/auth/register', json,
      JSON.stringify({ username: name, password: 'p'.repeat(9000) }), 413],
    ['text/plain', '/auth/register', { 'content-type': 'text/plain' }, 'hello', 415],
    ['XML', '/auth/login', { 'content-type': 'application/xml' }, '<u>a</u>', 415],
    ['a form', '/auth/login', { 'content-type': 'application/x-www-form-urlencoded' },
      `username=${username}&password=x`, 415],
    ['multipart', '/auth/register', { 'content-type': 'multipart/form-data; boundary=x' },
      '--x--', 415],
    ['broken JSON', '/auth/login', json, '{"username": ', 400],
    ['an empty JSON body', '/auth/register', json, '', 400],
    ['JSON null', '/auth/register', json, 'null', 400],
    ['a JSON array', '/auth/login', json, `["${username}", "${PASSWORD}"]`, 400],
    ['a JSON number', '/auth/refresh', json, '42', 400],
    ['__proto__', '/auth/register', json,
      `{"username":"${name}","password":"${PASSWORD}","__proto__":{"admin":true}}`, 400],
    ['constructor.prototype', '/auth/register', json,
      `{"username":"${name}","password":"${PASSWORD}","constructor":{"prototype":{"a":1}}}`, 400],
    ['an extra property', '/auth/register', json,
      JSON.stringify({ username: name, password: PASSWORD, role: 'admin' }), 400],
    ['a username object', '/auth/login', json,
      JSON.stringify({ username: { $ne: null }, password: PASSWORD }), 400],
    ['a password array', '/auth/login', json,
      JSON.stringify({ username, password: [PASSWORD] }), 400],
    ['a zero-width username', '/auth/register', json,
      JSON.stringify({ username: `${name}\u200b`, password: PASSWORD }), 400],
    ['a right-to-left override', '/auth/register', json,
      JSON.stringify({ username: `\u202e${name}`, password: PASSWORD }), 400],
    ['a NUL in the username', '/auth/register', json,
      JSON.stringify({ username: `${name}\u0000`, password: PASSWORD }), 400],
    ['a 65-character username', '/auth/register', json,
      JSON.stringify({ username: 'u'.repeat(65), password: PASSWORD }), 400],
    ['a 7-character password', '/auth/register', json,
      JSON.stringify({ username: name, password: 'short12' }), 400],
    ['a 1025-character password', '/auth/register', json,
      JSON.stringify({ username: name, password: 'p'.repeat(1025) }), 400],
    ['a refresh token of 513 characters', '/auth/refresh', json,
      JSON.stringify({ refresh_token: 'r'.repeat(513) }), 400]
  ]

  for (const [label, url, headers, payload, status] of cases) {
    t.test(label, async (t) => {
      const res = await server.inject({ method: 'POST', url, headers, payload })
      t.equal(res.statusCode, status)
      t.match(res.json(), {
        statusCode: status, code: String, error: String, message: String
      })
      t.notMatch(res.body, /at [\w.]+ \(|node_modules|\.ts:\d/, 'no stack')
      t.notMatch(res.body, PASSWORD)
      t.same(await snapshot(server), before, 'nothing changed in the cluster')
    })
  }

  t.test('long passphrases are kept whole, never truncated', async (t) => {
    const passphrase = 'x'.repeat(1023) + 'y'
    const { res } = await register(server, uniqueName(), passphrase)
    t.equal(res.statusCode, 201)
    const login = async (password: string) => (await server.inject({
      method: 'POST', url: '/auth/login', payload: { username: res.json().username, password }
    })).statusCode
    t.equal(await login(passphrase), 200)
    t.equal(await login('x'.repeat(1023)), 401, 'a prefix is not the password')
    t.equal(await login('x'.repeat(1024)), 401, 'nor is the last character ignored')
  })
})
