import t from 'tap'
import { build, signedIn } from '../helpers/app.js'
import { snapshot } from '../helpers/state.js'

// RFC 6750: a malformed Authorization header is 400 invalid_request; anything that is not
// bearer credentials at all is 401 with a bare challenge. Never a 500, never a 200.

const BARE = 'Bearer realm="latch"'
const INVALID_REQUEST = 'Bearer realm="latch", error="invalid_request"'

t.test('Authorization header parsing', async (t) => {
  const server = await build(t)
  const { access_token: token } = await signedIn(server)
  const before = await snapshot(server)

  const cases: Array<[string, Record<string, string | string[]>, string, number, string?]> = [
    ['the scheme alone', { authorization: 'Bearer' }, '/me', 400, INVALID_REQUEST],
    ['the scheme and a space', { authorization: 'Bearer ' }, '/me', 400, INVALID_REQUEST],
    ['two tokens', { authorization: `Bearer ${token} ${token}` }, '/me', 400, INVALID_REQUEST],
    ['a tab after the scheme', { authorization: `Bearer\t${token}` }, '/me', 400, INVALID_REQUEST],
    ['a trailing comma', { authorization: `Bearer ${token},` }, '/me', 400, INVALID_REQUEST],
    ['a quoted token', { authorization: `Bearer "${token}"` }, '/me', 400, INVALID_REQUEST],
    ['a parameter after the token', { authorization: `Bearer ${token}, realm=x` }, '/me', 400,
      INVALID_REQUEST],
    ['two Authorization headers', { authorization: [`Bearer ${token}`, `Bearer ${token}`] },
      '/me', 400, INVALID_REQUEST],
    ['Basic credentials', { authorization: 'Basic YWxpY2U6c2VjcmV0' }, '/me', 401, BARE],
    ['another scheme', { authorization: `Token ${token}` }, '/me', 401, BARE],
    ['a glued scheme', { authorization: `Bearerx ${token}` }, '/me', 401, BARE],
    ['a token without a scheme', { authorization: token }, '/me', 401, BARE],
    ['the token in the query string', {}, `/me?access_token=${token}`, 401, BARE],
    ['the token in another header', { 'x-access-token': token }, '/me', 401, BARE]
  ]

  for (const [name, headers, url, status, challenge] of cases) {
    t.test(name, async (t) => {
      const res = await server.inject({
        method: 'GET', url, headers: headers as Record<string, string>
      })
      t.equal(res.statusCode, status)
      t.equal(res.headers['www-authenticate'], challenge)
      t.notMatch(res.body, token)
      t.same(await snapshot(server), before, 'nothing changed in the cluster')
    })
  }

  t.test('the scheme is case-insensitive and may be followed by several spaces', async (t) => {
    for (const authorization of [`bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`]) {
      const res = await server.inject({ method: 'GET', url: '/me', headers: { authorization } })
      t.equal(res.statusCode, 200, authorization.slice(0, 9))
    }
  })
})
