import { randomBytes } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import path from 'node:path'
import Fastify, {
  type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse
} from 'fastify'
import fp from 'fastify-plugin'
import app, { options, requestLogging } from '../../app.js'

type Test = { teardown: (fn: () => unknown) => void, name: string }

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789'

const DEFAULT_TEST_NODES = [0, 1, 2, 3, 4, 5].map((n) => `127.0.0.1:${7100 + n}`).join(',')

/** Seed nodes of the throwaway cluster that `npm test` started. */
export const clusterNodes = process.env.REDIS_CLUSTER_NODES ?? DEFAULT_TEST_NODES

/** A fresh key prefix, so that test files never see each other's keys. */
export function uniquePrefix (): string {
  return `test:${randomBytes(6).toString('hex')}:`
}

export function testEnv (overrides: Record<string, string | undefined> = {}) {
  return {
    REDIS_CLUSTER_NODES: clusterNodes,
    JWT_SECRET: TEST_SECRET,
    KEY_PREFIX: uniquePrefix(),
    // Tests register and log in far more often than a person; the limits have tests of
    // their own that set them low.
    LOGIN_RATE_PER_IP: '100000',
    REGISTER_RATE_PER_IP: '100000',
    REFRESH_RATE_PER_SESSION: '100000',
    LOGIN_FAILURES_PER_ACCOUNT: '100000',
    // The suite runs many files at once on two cores: give a starved machine time, so a
    // test fails for what it tests. Failure tests set the production bounds themselves.
    CLUSTER_TIMEOUT_MS: '5000',
    WAIT_TIMEOUT_MS: '2000',
    ...overrides
  }
}

/** Builds latch for one test and closes it when the test ends. */
export async function build (
  t: Test,
  env: Record<string, string | undefined> = testEnv(),
  serverOptions: FastifyServerOptions = {}
): Promise<FastifyInstance> {
  const server = Fastify({ ...options, ...testOptions, logger: testLogger(), ...serverOptions })
  t.teardown(() => server.close())
  await server.register(fp(app), { env })
  await server.ready()
  return server
}

/**
 * With LATCH_TEST_LOG_DIR set (npm test sets it), every server logs at info, as in
 * production, to a file per test process; the test run then checks that no token and no
 * password ever reached a log.
 */
let logFile: WriteStream | undefined

function testLogger (): FastifyServerOptions['logger'] {
  const dir = process.env.LATCH_TEST_LOG_DIR
  if (dir === undefined || dir === '') return false
  logFile ??= createWriteStream(path.join(dir, `latch-${process.pid}.log`), { flags: 'a' })
  return { ...(options.logger as object), level: 'info', stream: logFile }
}

/** Tests log every request, so that the log check sees every URL a test sent. */
const testOptions: FastifyServerOptions = {
  logController: requestLogging(process.env.LATCH_TEST_LOG_DIR !== undefined)
}

let counter = 0

/** A username no other test uses. */
export function uniqueName (stem = 'user'): string {
  counter += 1
  return `${stem}${counter}_${randomBytes(4).toString('hex')}`
}

export const PASSWORD = 'correct horse battery staple'

export async function register (
  server: FastifyInstance, username = uniqueName(), password = PASSWORD
) {
  const res = await server.inject({
    method: 'POST', url: '/auth/register', payload: { username, password }
  })
  return { res, username, password, id: res.json<{ id: string }>().id }
}

export interface Pair {
  access_token: string
  refresh_token: string
  session_id: string
}

export async function login (
  server: FastifyInstance, username: string, password = PASSWORD, userAgent = 'tap'
): Promise<Pair> {
  const res = await server.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'user-agent': userAgent },
    payload: { username, password }
  })
  if (res.statusCode !== 200) throw new Error(`login failed with ${res.statusCode}`)
  return res.json<Pair>()
}

/** Registers a fresh user and logs in once. */
export async function signedIn (server: FastifyInstance) {
  const { username, id, res } = await register(server)
  if (res.statusCode !== 201) throw new Error(`register failed with ${res.statusCode}`)
  const pair = await login(server, username)
  return { username, id, ...pair }
}

export async function get (
  server: FastifyInstance, url: string, token?: string
): Promise<LightMyRequestResponse> {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` }
  return await server.inject({ method: 'GET', url, headers })
}
