import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { PASSWORD, TEST_SECRET, clusterNodes, uniqueName, uniquePrefix } from '../helpers/app.js'

// latch started the way production starts it (fastify-cli on the compiled app), under
// keep-alive load, then SIGTERM: requests in flight finish, later ones get 503 or find
// the connection closed before they are read, no response is cut off, and the process
// exits promptly with status 0.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const run = promisify(execFile)
const CLIENTS = 8
const IN_FLIGHT_LOGINS = 8
const LOAD_BEFORE_MS = 1500
/** Time for the logins to be read before SIGTERM; argon2 keeps them busy far longer. */
const IN_FLIGHT_MS = 100
const EXIT_LIMIT_MS = 12_000
/** Longer than any request may take (CLUSTER_TIMEOUT_MS, argon2's queue); see README. */
const GRACE_MS = 10_000

/**
 * Compiles latch into a directory of its own inside node_modules, where its imports
 * resolve: `npm run build` would replace dist/ under anything else running from it.
 */
async function compile (): Promise<string> {
  const cache = path.join(root, 'node_modules/.cache')
  await mkdir(cache, { recursive: true })
  const out = await mkdtemp(path.join(cache, 'latch-shutdown-'))
  t.teardown(async () => await rm(out, { recursive: true, force: true }))
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
  // Type errors are npm run typecheck's to report; this test needs the emitted code.
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', `${out}/dist`],
    { cwd: root }).catch(() => {})
  await copyAssets(path.join(root, 'routes'), path.join(out, 'dist/routes'))
  return path.join(out, 'dist/app.js')
}

/** The files next to the routes that are not TypeScript (pages, scripts, styles). */
async function copyAssets (from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue
    const source = path.join(entry.parentPath, entry.name)
    await cp(source, path.join(to, path.relative(from, source)))
  }
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function start (app: string, port: number): ChildProcess {
  const cli = path.join(root, 'node_modules/.bin/fastify')
  const args = [cli, 'start', '-o', '-l', 'warn', '-g', String(GRACE_MS),
    '-a', '127.0.0.1', '-p', String(port), app]
  const child = spawn(process.execPath, args, {
    cwd: root,
    // A clean environment: nothing of tap's loaders, only what production would set.
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      REDIS_CLUSTER_NODES: clusterNodes,
      JWT_SECRET: TEST_SECRET,
      KEY_PREFIX: uniquePrefix(),
      LOGIN_RATE_PER_IP: '100000',
      REFRESH_RATE_PER_SESSION: '100000'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logDir = process.env.LATCH_TEST_LOG_DIR
  if (logDir !== undefined && logDir !== '') {
    const log = createWriteStream(path.join(logDir, `shutdown-${port}.log`), { flags: 'a' })
    child.stdout?.pipe(log)
    child.stderr?.pipe(log)
  }
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill() })
  return child
}

type Kind = 'response' | 'refused' | 'closed before a response' | 'cut off mid-response'

interface Outcome {
  kind: Kind
  status?: number
  code?: string
  sentAt: number
}

/** One request; how it ended, never a rejection. */
async function send (
  agent: http.Agent, port: number, method: string, url: string,
  headers: Record<string, string>, body?: string
): Promise<Outcome> {
  const sentAt = Date.now()
  return await new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers, agent })
    let responded = false
    req.on('response', (res) => {
      responded = true
      res.resume()
      res.on('close', () => resolve(res.complete
        ? { kind: 'response', status: res.statusCode ?? 0, sentAt }
        : { kind: 'cut off mid-response', sentAt }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (responded) return
      const kind = err.code === 'ECONNREFUSED' ? 'refused' : 'closed before a response'
      resolve({ kind, code: err.code ?? err.message, sentAt })
    })
    req.end(body)
  })
}

async function waitLive (port: number): Promise<void> {
  const agent = new http.Agent()
  for (let i = 0; i < 200; i++) {
    const outcome = await send(agent, port, 'GET', '/health/live', {})
    if (outcome.status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('latch did not come up within 20 s')
}

async function signIn (port: number): Promise<{ username: string, token: string }> {
  const username = uniqueName('shutdown')
  const body = JSON.stringify({ username, password: PASSWORD })
  const headers = { 'content-type': 'application/json' }
  const base = `http://127.0.0.1:${port}`
  await fetch(`${base}/auth/register`, { method: 'POST', headers, body })
  const res = await fetch(`${base}/auth/login`, { method: 'POST', headers, body })
  const { access_token: token } = await res.json() as { access_token: string }
  return { username, token }
}

/** `CLIENTS` keep-alive loops of GET /me until the server refuses connections. */
function meLoops (port: number, token: string): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
  const headers = { authorization: `Bearer ${token}` }
  const outcomes: Outcome[] = []
  const loops = Array.from({ length: CLIENTS }, async () => {
    for (;;) {
      const outcome = await send(agent, port, 'GET', '/me', headers)
      outcomes.push(outcome)
      if (outcome.kind === 'refused') return
    }
  })
  return Promise.all(loops).then(() => { agent.destroy(); return outcomes })
}

function tally (outcomes: Outcome[]): string {
  const counts = new Map<string, number>()
  for (const o of outcomes) {
    const key = o.kind === 'response' ? String(o.status) : `${o.kind} (${o.code ?? '-'})`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([key, n]) => `${key}: ${n}`).join(', ')
}

/** Logins on keep-alive connections opened beforehand: nothing waits for a handshake. */
async function warmAgent (port: number): Promise<http.Agent> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT_LOGINS })
  await Promise.all(Array.from({ length: IN_FLIGHT_LOGINS }, async () =>
    await send(agent, port, 'GET', '/health/live', {})))
  return agent
}

t.test('SIGTERM under keep-alive load: in-flight work finishes, nothing is cut off',
  async (t) => {
    const app = await compile()
    const port = await freePort()
    const child = start(app, port)
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await waitLive(port)
    const { username, token } = await signIn(port)
    const loginAgent = await warmAgent(port)

    const load = meLoops(port, token)
    await new Promise((resolve) => setTimeout(resolve, LOAD_BEFORE_MS))
    // Logins are the slowest requests (argon2 queues them): sent well before SIGTERM on
    // open connections, they are read and in flight when it comes.
    const body = JSON.stringify({ username, password: PASSWORD })
    const logins = Promise.all(Array.from({ length: IN_FLIGHT_LOGINS }, async () =>
      await send(loginAgent, port, 'POST', '/auth/login',
        { 'content-type': 'application/json' }, body)))
    await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_MS))
    const signalledAt = Date.now()
    child.kill('SIGTERM')

    const code = await exited
    const exitMs = Date.now() - signalledAt
    const outcomes = await load
    const inFlight = await logins
    loginAgent.destroy()
    report(t, { code, exitMs, outcomes, inFlight, signalledAt })
  })

interface Shutdown {
  code: number | null
  exitMs: number
  outcomes: Outcome[]
  inFlight: Outcome[]
  signalledAt: number
}

function report (t: Test, r: Shutdown): void {
  const before = r.outcomes.filter((o) => o.sentAt < r.signalledAt)
  const after = r.outcomes.filter((o) => o.sentAt >= r.signalledAt)
  t.comment(`exit status ${String(r.code)} after ${r.exitMs} ms`)
  t.comment(`GET /me sent before SIGTERM: ${tally(before)}`)
  t.comment(`GET /me sent after SIGTERM: ${tally(after)}`)
  t.comment(`logins in flight at SIGTERM: ${tally(r.inFlight)}`)

  t.equal(r.code, 0, 'the process exits with status 0, not killed by the grace timeout')
  t.ok(r.exitMs <= EXIT_LIMIT_MS, `within ${EXIT_LIMIT_MS} ms of SIGTERM`)
  t.ok(r.inFlight.every((o) => o.status === 200), 'logins in flight at SIGTERM finish: 200')
  t.ok(before.every((o) => o.kind === 'response'), 'every request sent before SIGTERM is answered')
  const answered = [...r.outcomes, ...r.inFlight].filter((o) => o.kind === 'response')
  t.ok(answered.every((o) => o.status === 200 || o.status === 503),
    'every answer is 200 or 503: no other 5xx')
  // After SIGTERM a keep-alive connection may be closed just as a request goes out on it
  // (HTTP/1.1 leaves such a request for the client to retry); a response must never stop
  // halfway.
  t.notOk(r.outcomes.some((o) => o.kind === 'cut off mid-response'), 'no response is cut off')
  t.ok(before.some((o) => o.status === 200), 'the load was served')
}
