import { monitorEventLoopDelay } from 'node:perf_hooks'
import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { Counter, Gauge, Registry, type Metric } from 'prom-client'
import { DeadlinePassed, NotReplicated } from './errors/errors.js'

// latch's Prometheus metrics. Each app has its own registry: prom-client's global one
// would refuse the second app of a process (the tests build many) and mix their counts.

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** Seconds; a /me answers in well under a millisecond, a login costs an argon2 check. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
const LOOP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

/** How often perf_hooks samples the event loop, in milliseconds. */
const LOOP_RESOLUTION_MS = 20

/** The route label of a request that matched no route: never its raw URL. */
const UNMATCHED = '(unmatched)'

type Labels = Record<string, string | number>
interface Sample { labels: Labels, value: number, metricName?: string }

/**
 * Registers a metric whose samples are computed at scrape time. prom-client's own metrics
 * check and hash their labels on every update, about a microsecond per request; its
 * registry asks a metric only for `get()`, so latch keeps plain numbers and hands them
 * over when scraped.
 */
function registerComputed (
  registry: Registry, name: string, help: string, type: 'counter' | 'histogram',
  samples: () => Sample[]
): void {
  const get = async () => ({ name, help, type, aggregator: 'sum', values: samples() })
  registry.registerMetric({ name, help, type, get } as unknown as Metric)
}

/** Cumulative histogram samples from per-bucket counts (the last one past every bound). */
function histogramSamples (
  name: string, bounds: number[], labels: Labels, counts: number[], sum: number
): Sample[] {
  const metricName = `${name}_bucket`
  let cumulative = 0
  const buckets = counts.map((count, i) => {
    cumulative += count
    return { labels: { ...labels, le: bounds[i] ?? '+Inf' }, value: cumulative, metricName }
  })
  return [
    ...buckets,
    { labels, value: sum, metricName: `${name}_sum` },
    { labels, value: cumulative, metricName: `${name}_count` }
  ]
}

/**
 * A counter with one label that only takes the listed values. Every series starts at 0,
 * so a rate over it is right from the first event, and a typo in a value is a type error.
 */
function labelledCounter<const V extends string> (
  registry: Registry, name: string, help: string, label: string, values: readonly V[]
) {
  const counter = new Counter({ name, help, labelNames: [label], registers: [registry] })
  const series = new Map(values.map((value) => {
    counter.inc({ [label]: value }, 0)
    return [value, counter.labels(value)]
  }))
  return { inc: (value: V) => series.get(value)?.inc() }
}

/**
 * Event-loop delay as a real histogram. perf_hooks samples the loop natively; each scrape
 * folds the samples since the last one into the buckets, read off their percentiles. A
 * sample is the time between two ticks, so the resolution is taken off.
 */
function eventLoopDelay (registry: Registry) {
  const name = 'latch_event_loop_delay_seconds'
  const monitor = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  monitor.enable()
  const offsetNs = LOOP_RESOLUTION_MS * 1e6
  const counts = [...LOOP_BUCKETS, Infinity].map(() => 0)
  let seconds = 0

  function absorb (): void {
    const samples = monitor.count
    if (samples === 0) return
    const percentiles = [...monitor.percentiles]
    let below = 0
    LOOP_BUCKETS.forEach((bound, i) => {
      let share = 0
      for (const [percentile, ns] of percentiles) {
        if (ns - offsetNs <= bound * 1e9) share = percentile
      }
      const upTo = Math.round(samples * share / 100)
      counts[i] = (counts[i] ?? 0) + upTo - below
      below = upTo
    })
    counts[LOOP_BUCKETS.length] = (counts[LOOP_BUCKETS.length] ?? 0) + samples - below
    seconds += samples * Math.max(0, monitor.mean - offsetNs) / 1e9
    monitor.reset()
  }

  registerComputed(registry, name,
    `How late the event loop ran, sampled every ${LOOP_RESOLUTION_MS} ms`, 'histogram', () => {
      absorb()
      return histogramSamples(name, LOOP_BUCKETS, {}, counts, seconds)
    })
  return { stop: () => monitor.disable() }
}

interface RequestSeries { labels: Labels, counts: number[], seconds: number, total: number }

/**
 * Request counts and latency by method, route pattern and status. A request costs one map
 * lookup, a walk along the bucket bounds and three additions.
 */
function httpMetrics (registry: Registry) {
  const series = new Map<string, RequestSeries>()
  const all = () => [...series.values()]

  registerComputed(registry, 'latch_http_requests_total', 'Requests answered', 'counter',
    () => all().map(({ labels, total }) => ({ labels, value: total })))
  const durations = 'latch_http_request_duration_seconds'
  registerComputed(registry, durations, 'Time from receiving a request to answering it',
    'histogram', () => all().flatMap(({ labels, counts, seconds }) =>
      histogramSamples(durations, LATENCY_BUCKETS, labels, counts, seconds)))

  return function record (method: string, route = UNMATCHED, status: number, ms: number) {
    const key = `${method} ${route} ${status}`
    let one = series.get(key)
    if (one === undefined) {
      const counts = [...LATENCY_BUCKETS, Infinity].map(() => 0)
      one = { labels: { method, route, status }, counts, seconds: 0, total: 0 }
      series.set(key, one)
    }
    const seconds = ms / 1000
    let bucket = 0
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] ?? 0)) bucket++
    one.counts[bucket] = (one.counts[bucket] ?? 0) + 1
    one.seconds += seconds
    one.total++
  }
}

/** CPU and memory, read at scrape time: nothing runs between scrapes. */
function processMetrics (registry: Registry) {
  let reported = 0
  const cpu = new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time of the process',
    registers: [registry],
    collect () {
      const { user, system } = process.cpuUsage()
      const seconds = (user + system) / 1e6
      this.inc(seconds - reported)
      reported = seconds
    }
  })
  const memory = new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory of the process',
    registers: [registry],
    collect () { this.set(process.memoryUsage.rss()) }
  })
  return { cpu, memory }
}

/** Refusals by a limit: a route's own limit (per address or session), or an account's. */
function rateLimitMetric (registry: Registry) {
  const counter = new Counter({
    name: 'latch_rate_limited_total',
    help: 'Requests refused by a rate limit, by route pattern and kind of limit',
    labelNames: ['route', 'limit'],
    registers: [registry]
  })
  return { inc: (route: string, limit: 'route' | 'account') => counter.inc({ route, limit }) }
}

export function createMetrics () {
  const registry = new Registry()
  const counter = <const V extends string>(
    name: string, help: string, label: string, values: readonly V[]
  ) => labelledCounter(registry, name, help, label, values)

  return {
    registry,
    http: httpMetrics(registry),
    eventLoop: eventLoopDelay(registry),
    process: processMetrics(registry),
    accounts: new Counter({
      name: 'latch_accounts_created_total', help: 'Accounts created', registers: [registry]
    }),
    logins: counter('latch_logins_total', 'Logins by outcome', 'outcome', ['success', 'failure']),
    refreshes: counter('latch_refreshes_total', 'Refresh attempts by outcome', 'outcome',
      ['rotated', 'retried', 'reused', 'missing', 'invalid']),
    refreshReuse: counter('latch_refresh_reuse_total',
      'Retired refresh tokens presented: a retry within the grace window, or theft after it',
      'cause', ['retry', 'theft']),
    revocations: counter('latch_revocations_total',
      'Revocations by kind: each one ends one session or many', 'kind',
      ['logout_local', 'logout_others', 'logout_global', 'session_delete', 'password_change',
        'account_deleted', 'refresh_reuse']),
    rateLimited: rateLimitMetric(registry),
    clusterUnavailable: counter('latch_cluster_unavailable_total',
      'Requests answered 503 because the cluster was too slow or failed', 'cause',
      ['timeout', 'error'])
  }
}

/** Why the cluster could not serve a request: too slow (or no replica in time), or failed. */
export function clusterFailure (error: FastifyError): 'timeout' | 'error' | null {
  if (error.code !== 'CLUSTER_UNAVAILABLE') return null
  const cause = error.cause instanceof Error ? error.cause : undefined
  // ioredis names no class for its own command timeout: its message is all there is.
  const slow = cause instanceof DeadlinePassed || cause instanceof NotReplicated ||
    /timed out/i.test(cause?.message ?? '')
  return slow ? 'timeout' : 'error'
}

export default fp(async function metrics (fastify) {
  const metrics = createMetrics()
  fastify.decorate('metrics', metrics)

  fastify.addHook('onResponse', function countRequest (request, reply, done) {
    metrics.http(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime)
    done()
  })
  fastify.addHook('onError', function countClusterFailure (_request, _reply, error, done) {
    const cause = clusterFailure(error)
    if (cause !== null) metrics.clusterUnavailable.inc(cause)
    done()
  })
  fastify.addHook('onClose', async () => metrics.eventLoop.stop())
}, { name: 'metrics' })
