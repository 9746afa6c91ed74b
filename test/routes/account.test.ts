import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, get, login, register, PASSWORD } from '../helpers/app.js'

async function changePassword (server: FastifyInstance, token: string, body: object) {
  return await server.inject({
    method: 'POST',
    url: '/auth/password',
    headers: { authorization: `Bearer ${token}` },
    payload: body
  })
}

async function deleteMe (server: FastifyInstance, token: string, body: object) {
  return await server.inject({
    method: 'DELETE', url: '/me', headers: { authorization: `Bearer ${token}` }, payload: body
  })
}

async function canLogIn (server: FastifyInstance, username: string, password: string) {
  const res = await server.inject({
    method: 'POST', url: '/auth/login', payload: { username, password }
  })
  return res.statusCode === 200
}

const NEW_PASSWORD = 'an entirely new passphrase'

t.test('POST /auth/password', async (t) => {
  const server = await build(t)

  t.test('changes the password and ends every other session', async (t) => {
    const { username } = await register(server)
    const here = await login(server, username)
    const elsewhere = await login(server, username)

    const res = await changePassword(server, here.access_token,
      { current_password: PASSWORD, new_password: NEW_PASSWORD })
    t.equal(res.statusCode, 204)
    t.equal((await get(server, '/me', here.access_token)).statusCode, 200, 'this one stays')
    t.equal((await get(server, '/me', elsewhere.access_token)).statusCode, 401)
    t.notOk(await canLogIn(server, username, PASSWORD))
    t.ok(await canLogIn(server, username, NEW_PASSWORD))
  })

  t.test('a wrong current password is 401 and changes nothing', async (t) => {
    const { username } = await register(server)
    const here = await login(server, username)
    const elsewhere = await login(server, username)
    const res = await changePassword(server, here.access_token,
      { current_password: 'not the password', new_password: NEW_PASSWORD })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'INVALID_PASSWORD')
    t.equal((await get(server, '/me', here.access_token)).statusCode, 200,
      'a wrong password is not a bad token')
    t.equal((await get(server, '/me', elsewhere.access_token)).statusCode, 200)
    t.ok(await canLogIn(server, username, PASSWORD))
  })

  t.test('bad bodies are 400 and change nothing', async (t) => {
    const { username } = await register(server)
    const here = await login(server, username)
    const bodies = [
      {}, { current_password: PASSWORD }, { current_password: PASSWORD, new_password: 'short' },
      { current_password: PASSWORD, new_password: NEW_PASSWORD, extra: 1 }
    ]
    for (const body of bodies) {
      t.equal((await changePassword(server, here.access_token, body)).statusCode, 400)
    }
    t.ok(await canLogIn(server, username, PASSWORD))
  })
})

t.test('DELETE /me', async (t) => {
  const server = await build(t)

  t.test('deletes the account, ends every session and frees the username', async (t) => {
    const { username } = await register(server)
    const here = await login(server, username)
    const elsewhere = await login(server, username)

    t.equal((await deleteMe(server, here.access_token, { password: PASSWORD })).statusCode, 204)
    t.equal((await get(server, '/me', here.access_token)).statusCode, 401)
    t.equal((await get(server, '/me', elsewhere.access_token)).statusCode, 401)
    const refreshed = await server.inject({
      method: 'POST', url: '/auth/refresh', payload: { refresh_token: elsewhere.refresh_token }
    })
    t.equal(refreshed.statusCode, 401)
    t.notOk(await canLogIn(server, username, PASSWORD))
    t.equal((await register(server, username, 'the next owner password')).res.statusCode, 201)
    t.ok(await canLogIn(server, username, 'the next owner password'))
  })

  t.test('a wrong password is 401 and deletes nothing', async (t) => {
    const { username } = await register(server)
    const here = await login(server, username)
    const res = await deleteMe(server, here.access_token, { password: 'not the password' })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'INVALID_PASSWORD')
    t.equal((await get(server, '/me', here.access_token)).statusCode, 200)
    t.ok(await canLogIn(server, username, PASSWORD))
  })

  t.test('a missing body is 400', async (t) => {
    const { username } = await register(server)
    const here = await login(server, username)
    const res = await server.inject({
      method: 'DELETE', url: '/me', headers: { authorization: `Bearer ${here.access_token}` }
    })
    t.equal(res.statusCode, 400)
    t.equal((await get(server, '/me', here.access_token)).statusCode, 200)
  })

  t.test('a name left behind by a half-finished deletion can be registered again', async (t) => {
    const { username, id } = await register(server)
    // The user's slot is gone but the name's key, in another slot, still points at it.
    await server.cluster.del(server.keys.user(id))
    t.equal((await register(server, username)).res.statusCode, 201)
  })
})
