// npm run bench [-- --quick] [--duration S] [--rounds N] [--users N] [--sessions N]
//                  [--instances N [--separate-ports]]
// Measures latch's hot path on this machine against a bare Fastify route and a stateless
// JWT route: starts its own Redis Cluster (ports 7600-7605, or from
// BENCH_CLUSTER_PORT_BASE), latch as `npm start` runs it, and the baseline server;
// creates users through the API; runs every scenario with autocannon in interleaved
// rounds; prints the median rounds and the targets, and writes all rounds to
// bench-results/<timestamp>.json. It stops everything it started, also on failure and
// Ctrl-C. Exit 0 even when a target fails (it measures, it does not test); 1 when a
// server does not start or a scenario has more than 1% errors.
import { randomBytes } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseOptions, type BenchOptions } from './bench/options.js'
import {
  cleanup, onCleanup, portInUse, run, spawnNode, waitHttp, waitLaunched, type Spawned
} from './bench/children.js'
import { createUsers, type BenchUser } from './bench/users.js'
import {
  CONNECTIONS, fire, withBodies, withTokens, type Load, type RunStats
} from './bench/load.js'
import { RefreshDriver, hasRefreshRoute } from './bench/refresh.js'
import { coresUsed, settle, snapshot, type Groups } from './bench/cpu.js'
import {
  closeNodes, mastersMemory, nodePids, openNodes, waitQuiet, type Nodes
} from './bench/redis-nodes.js'
import {
  SESSIONS_PER_USER, describeKey, describeSample, insertSessions
} from './bench/sessions.js'
import {
  checkLine, errorRate, interference, table, targets, type Row
} from './bench/report.js'
import { describeMachine, header, type Machine } from './bench/machine.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RESULTS = path.join(root, 'bench-results')
const CLUSTER_BASE = Number(process.env.BENCH_CLUSTER_PORT_BASE ?? 7600)
const LATCH_PORT = 3700
const BASELINE_PORT = 3720
const KEY_PREFIX = 'bench:'
const ERROR_LIMIT = 0.01
/** Connections that keep the login route busy beside the /me load: argon2 saturates. */
const LOGIN_CONNECTIONS = 8
/** Rows that answer the same question as the baseline's routes and get its ratios. */
const COMPARED = new Set(['bare', 'stateless', 'me', 'me+logins', 'me@1k', 'me@1M'])

interface Servers {
  urls: string[]
  pids: number[]
}

interface Bench {
  options: BenchOptions
  latch: Servers
  baseline: Servers
  users: BenchUser[]
  groups: Groups
  rows: Row[]
}

type Measure = (seconds: number) => Promise<Record<string, RunStats>>

interface Scenario {
  name: string
  measure: Measure
}

async function startCluster (): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latch-bench-cluster-'))
  const env = { CLUSTER_PORT_BASE: String(CLUSTER_BASE), CLUSTER_DIR: dir }
  const script = path.join(root, 'scripts/cluster.sh')
  // Registered first, so that a cluster left half made by a failed start goes too.
  onCleanup(() => run('bash', [script, 'down', '--purge'], env))
  await run('bash', [script, 'up'], env)
  return [0, 1, 2, 3, 4, 5].map((n) => CLUSTER_BASE + n)
}

/**
 * Starts one server process, N sharing a port through the launcher, or N on consecutive
 * ports, and waits until each answers `readyPath`.
 */
async function startServers (
  name: string, command: (port: number) => string[], env: Record<string, string>,
  base: number, readyPath: string, options: BenchOptions, log: WriteStream
): Promise<Servers> {
  const { instances, separatePorts } = options
  const launched = instances > 1 && !separatePorts
  const ports = separatePorts ? Array.from({ length: instances }, (_, i) => base + i) : [base]
  for (const port of ports) {
    if (await portInUse(port)) throw new Error(`${name} needs port ${port}, which is in use`)
  }
  const launcher = path.join(root, 'dist/scripts/bench/launch.js')
  const started: Spawned[] = ports.map((port) => {
    const args = launched ? [launcher, String(instances), ...command(port)] : command(port)
    return spawnNode(name, args, { ...env, PORT: String(port) }, log, launched)
  })
  const urls = ports.map((port) => `http://127.0.0.1:${port}`)
  await Promise.all(started.map(async (spawned, i) => {
    if (launched) await waitLaunched(spawned)
    await waitHttp(spawned, `${urls[i]}${readyPath}`)
  }))
  return { urls, pids: started.map((spawned) => spawned.pid) }
}

function latchServers (secret: string, options: BenchOptions, log: WriteStream) {
  const cli = path.join(root, 'node_modules/fastify-cli/cli.js')
  const app = path.join(root, 'dist/app.js')
  // What `npm start` runs, at log level warn: info would log every refused request.
  const command = (port: number) =>
    [cli, 'start', '-o', '-l', 'warn', '-T', '20000', '-a', '127.0.0.1', '-p', String(port), app]
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: secret,
    REDIS_CLUSTER_NODES: [0, 1, 2, 3, 4, 5].map((n) => `127.0.0.1:${CLUSTER_BASE + n}`).join(),
    KEY_PREFIX,
    // Every request comes from one address, and the scenarios mean to saturate the routes:
    // the rate limits would measure themselves instead.
    LOGIN_RATE_PER_IP: '100000',
    REGISTER_RATE_PER_IP: '100000',
    REFRESH_RATE_PER_SESSION: '100000',
    // Access tokens must outlive a long run; the lifetime does not change a check's cost.
    ACCESS_TOKEN_TTL: '86400'
  }
  return startServers('latch', command, env, LATCH_PORT, '/health/ready', options, log)
}

function baselineServers (secret: string, options: BenchOptions, log: WriteStream) {
  const command = () => [path.join(root, 'dist/scripts/bench-baseline.js')]
  return startServers('baseline', command, { JWT_SECRET: secret }, BASELINE_PORT, '/bare',
    options, log)
}

/** A scenario of one load on one set of servers, reported under its own name. */
function single (name: string, servers: Servers, load: Load): Scenario {
  return { name, measure: async (s) => ({ [name]: await fire(servers.urls, load, s) }) }
}

function scenarios (bench: Bench, refresh: RefreshDriver | undefined): Scenario[] {
  const { latch, baseline, users } = bench
  const tokens = users.map((user) => user.access)
  const me = withTokens('/me', tokens)
  const login = withBodies('/auth/login',
    users.map(({ username, password }) => ({ username, password })))
  const list: Scenario[] = [
    single('bare', baseline, withTokens('/bare', tokens)),
    single('stateless', baseline, withTokens('/stateless', tokens)),
    single('me', latch, me),
    {
      name: 'me+logins',
      measure: async (s) => {
        const [reads, logins] = await Promise.all([
          fire(latch.urls, me, s), fire(latch.urls, login, s, LOGIN_CONNECTIONS)])
        return { 'me+logins': reads, 'me+logins: logins': logins }
      }
    },
    single('login', latch, login)
  ]
  if (refresh !== undefined) {
    list.push({
      name: 'refresh',
      measure: async (s) => {
        const stats = await fire(latch.urls, refresh.load(), s)
        await refresh.recover(latch.urls[0] ?? '')
        return { refresh: stats }
      }
    })
  }
  return list
}

function rowOf (bench: Bench, name: string): Row {
  let row = bench.rows.find((r) => r.name === name)
  if (row === undefined) {
    row = { name, compared: COMPARED.has(name), rounds: [] }
    bench.rows.push(row)
  }
  return row
}

/** One measured run of a scenario, with the CPU each process group used meanwhile. */
async function measureOnce (bench: Bench, scenario: Scenario, round: number) {
  const before = snapshot(bench.groups)
  const results = await scenario.measure(bench.options.duration)
  const cpu = coresUsed(before, snapshot(bench.groups))
  for (const [name, stats] of Object.entries(results)) {
    rowOf(bench, name).rounds.push({ round, stats, cpu })
    console.log(`  round ${round}/${bench.options.rounds}  ${name.padEnd(18)}` +
      `${Math.round(stats.rps).toString().padStart(7)} req/s  p50 ${stats.p50.toFixed(2)} ms` +
      `  p99 ${stats.p99.toFixed(2)} ms  errors ${stats.errors}`)
  }
  // In-flight work, argon2 above all, must not spill into the next run.
  await settle(bench.groups)
}

/** Warms every scenario up once, then runs them in interleaved rounds. */
async function measureRounds (bench: Bench, list: Scenario[]) {
  console.log(`warming up: ${list.length} scenarios, ${bench.options.warmup} s each`)
  for (const scenario of list) {
    await scenario.measure(bench.options.warmup)
    await settle(bench.groups)
  }
  for (let round = 1; round <= bench.options.rounds; round++) {
    for (const scenario of list) await measureOnce(bench, scenario, round)
  }
}

/**
 * /me with only the bench's own sessions, then with `--sessions` more inserted straight
 * into the cluster; the insert also gives the cluster's memory per session.
 */
async function measureScale (bench: Bench, nodes: Nodes) {
  const me = withTokens('/me', bench.users.map((user) => user.access))
  for (let round = 1; round <= bench.options.rounds; round++) {
    await measureOnce(bench, single('me@1k', bench.latch, me), round)
  }

  await waitQuiet(nodes)
  const before = await mastersMemory(nodes)
  const made = await describeKey(nodes, sessionKey(bench.users[0]?.access ?? ''))
  console.log(`a session latch made: a ${made.type} (${made.encoding}) ${made.bytes} B`)
  console.log(`inserting ${bench.options.sessions.toLocaleString('en-US')} sessions`)
  const started = performance.now()
  const { inserted, sample } = await insertSessions(nodes, KEY_PREFIX, bench.options.sessions)
  const insertSeconds = (performance.now() - started) / 1000
  await waitQuiet(nodes)
  const after = await mastersMemory(nodes)
  const bytesPerSession = (after - before) / inserted
  const keys = await describeSample(nodes, KEY_PREFIX, sample)
  console.log(`inserted ${inserted.toLocaleString('en-US')} sessions in ` +
    `${insertSeconds.toFixed(1)} s: ${Math.round(bytesPerSession)} bytes per session; ` +
    keys.map((k) => `a ${k.type} (${k.encoding}) ${k.bytes} B`).join(', '))

  const large = single('me@1M', bench.latch, me)
  await large.measure(bench.options.warmup)
  for (let round = 1; round <= bench.options.rounds; round++) {
    await measureOnce(bench, large, round)
  }
  const perUser = SESSIONS_PER_USER
  return { inserted, perUser, insertSeconds, before, after, bytesPerSession, keys, made }
}

/** The session key an access token points at, from its unverified claims. */
function sessionKey (token: string): string {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())
  return `${KEY_PREFIX}session:{${claims.sub}}:${claims.sid}`
}

async function startAll (options: BenchOptions, log: WriteStream) {
  const ports = await startCluster()
  const secret = randomBytes(48).toString('base64url')
  const latch = await latchServers(secret, options, log)
  const baseline = await baselineServers(secret, options, log)
  const nodes = await openNodes(ports)
  onCleanup(() => closeNodes(nodes))
  console.log(`servers up: latch ${latch.urls.join(' ')}, baseline ${baseline.urls.join(' ')}` +
    ` (their output: ${path.relative(root, String(log.path))})`)
  return { latch, baseline, nodes }
}

interface Extra {
  startedAt: string
  sessions: Awaited<ReturnType<typeof measureScale>>
  /** Refresh users whose token state became unknown and who were left out since. */
  refreshDropped?: number
}

/** Prints the table and the targets, writes every round as JSON; returns the exit code. */
async function report (bench: Bench, machine: Machine, extra: Extra) {
  const { bytesPerSession } = extra.sessions
  const checks = targets({ rows: bench.rows, cpus: machine.cpus, bytesPerSession })
  const failing = bench.rows.filter((row) => errorRate(row) > ERROR_LIMIT)
  console.log(`\n${header(machine)}\n${legend(bench)}\n\n${table(bench.rows)}\n`)
  console.log(checks.map(checkLine).join('\n'))
  const disturbed = interference(bench.rows)
  if (disturbed !== undefined) console.log(`\n${disturbed}`)
  for (const row of failing) {
    console.error(`ERROR: ${row.name}: ${(errorRate(row) * 100).toFixed(2)}% of requests failed`)
  }

  const { options, latch, baseline, rows } = bench
  const file = path.join(RESULTS, `${extra.startedAt}.json`)
  const servers = { latch: latch.urls, baseline: baseline.urls }
  const argv = process.argv.slice(2)
  await writeFile(file, JSON.stringify({
    ...extra, argv, options, machine, servers, users: bench.users.length, rows, checks
  }, null, 2))
  console.log(`\nall rounds: ${path.relative(root, file)}`)
  return failing.length > 0 ? 1 : 0
}

async function main (): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const startedAt = new Date().toISOString()
  const machine = describeMachine(root)
  console.log(header(machine))
  await mkdir(RESULTS, { recursive: true })
  const log = createWriteStream(path.join(RESULTS, `${startedAt}.log`))
  onCleanup(() => new Promise((resolve) => log.end(resolve)))

  const { latch, baseline, nodes } = await startAll(options, log)
  const users = await timed('created users', () => createUsers(latch.urls[0] ?? '', options.users))
  const groups = { latch: latch.pids, baseline: baseline.pids, redis: await nodePids(nodes) }
  const bench: Bench = { options, latch, baseline, users, groups, rows: [] }

  const refresh = await hasRefreshRoute(latch.urls[0] ?? '') ? new RefreshDriver(users) : undefined
  await measureRounds(bench, scenarios(bench, refresh))
  if (refresh === undefined) rowOf(bench, 'refresh').na = 'n/a: POST /auth/refresh answers 404'
  const sessions = await measureScale(bench, nodes)
  return await report(bench, machine, { startedAt, sessions, refreshDropped: refresh?.dropped })
}

async function timed<T> (what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await work()
  console.log(`${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return result
}

function legend ({ options, users }: Bench): string {
  const topology = options.instances === 1
    ? '1 process'
    : `${options.instances} processes${options.separatePorts ? ' on separate ports' : ''}`
  return [
    `${CONNECTIONS} connections, each request with another user's token; median of ` +
      `${options.rounds} round(s) of ${options.duration} s; errors summed over all rounds.`,
    `Servers: ${topology} each. Ratios: req/s over the baseline's /stateless and /bare.`,
    `me@1k: /me with the sessions of ${users.length} users' logins in the cluster; me@1M: ` +
      `after ${options.sessions.toLocaleString('en-US')} more.`,
    'cores: CPU of the load generator, latch, the baseline, the six Redis nodes, and ' +
      'anything else',
    'on the machine meanwhile (1.00 = one core busy for the whole run).'
  ].join('\n')
}

let interrupted = false

function onSignal (signal: NodeJS.Signals, code: number) {
  process.once(signal, () => {
    interrupted = true
    console.error(`\n${signal}: stopping the servers and the cluster`)
    cleanup().finally(() => process.exit(code))
  })
}

onSignal('SIGINT', 130)
onSignal('SIGTERM', 143)
main().then(async (code) => {
  await cleanup()
  process.exit(code)
}, async (err: unknown) => {
  // After Ctrl-C the servers stop under the bench's feet: that failure is no news.
  if (interrupted) return
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`)
  await cleanup()
  process.exit(1)
})
