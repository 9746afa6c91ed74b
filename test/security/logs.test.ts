import t from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { options, requestLogging } from '../../app.js'
import { testEnv, PASSWORD, uniqueName } from '../helpers/app.js'

// Logs never hold a token, a password or a request body, whatever a client sends where.

t.test('a full session leaves no secret in the logs', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) { lines.push(String(chunk)); done() }
  })
  const logger = { ...(options.logger as object), level: 'trace', stream }
  const server = Fastify({ ...options, logger, logController: requestLogging(true) })
  await server.register(fp(app), { env: testEnv() })
  t.teardown(() => server.close())

  const username = uniqueName()
  type Method = 'GET' | 'POST' | 'DELETE'
  const send = async (method: Method, url: string, body?: object, token?: string) => {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` }
    return await server.inject({ method, url, payload: body, headers })
  }
  await send('POST', '/auth/register', { username, password: PASSWORD })
  await send('POST', '/auth/login', { username, password: 'a wrong password' })
  const pair = (await send('POST', '/auth/login', { username, password: PASSWORD })).json()
  await send('GET', '/me', undefined, pair.access_token)
  await send('GET', `/me?access_token=${pair.access_token}`)
  await send('GET', `/nowhere?token=${pair.access_token}`)
  await send('GET', '/me', undefined, `${pair.access_token}x`)
  const next = (await send('POST', '/auth/refresh', { refresh_token: pair.refresh_token })).json()
  await send('POST', '/auth/password',
    { current_password: PASSWORD, new_password: 'the second password' }, next.access_token)
  await send('DELETE', '/me', { password: 'the second password' }, next.access_token)

  const log = lines.join('')
  t.ok(lines.length > 20, `${lines.length} log lines were written`)
  t.match(log, /request completed/)
  for (const secret of [
    pair.access_token, pair.refresh_token, next.access_token, next.refresh_token,
    PASSWORD, 'a wrong password', 'the second password', '$argon2id$', 'access_token='
  ]) {
    t.notOk(log.includes(secret), `${secret.slice(0, 12)}… is not in the logs`)
  }
})
