import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'

/** What one run of the load generator measured. Latencies in ms. */
export interface RunStats {
  /** Completed responses, whatever their status. */
  responses: number
  seconds: number
  rps: number
  p50: number
  p99: number
  non2xx: number
  /** Connection errors, timeouts included (autocannon counts both as errors). */
  connErrors: number
  timeouts: number
  /** non-2xx responses plus connection errors and timeouts. */
  errors: number
}

/** The part of autocannon's options that says what to send. */
export type Load = Pick<autocannon.Options, 'requests' | 'setupClient' | 'method'>

export const CONNECTIONS = 64

/**
 * Latencies of every response, kept whole rather than in autocannon's histogram, which
 * rounds to whole milliseconds and cannot be merged across instances.
 */
class Samples {
  private values = new Float64Array(1 << 16)
  count = 0

  push (ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.count++] = ms
  }

  percentile (p: number): number {
    if (this.count === 0) return Number.NaN
    const sorted = this.values.subarray(0, this.count).sort()
    return sorted[Math.min(this.count - 1, Math.floor(p * this.count))] ?? Number.NaN
  }
}

interface Timed {
  result: autocannon.Result
  /** When the connections were set up and the clock started, and when it stopped. */
  began: number
  ended: number
}

function start (
  url: string, load: Load, connections: number, seconds: number, samples: Samples
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    let began = performance.now()
    const instance = autocannon({
      url,
      connections,
      duration: seconds,
      // A stop is noticed at the next sample tick: 100 ms instead of up to a second late.
      sampleInt: 100,
      ...load
    }, (err, result) => {
      if (err) reject(err)
      else resolve({ result, began, ended: performance.now() })
    })
    instance.once('start', () => { began = performance.now() })
    instance.on('response', (_client, _status, _bytes, ms) => samples.push(ms))
  })
}

/** Spreads `total` connections over `parts` targets, the first ones taking the rest. */
function split (total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) =>
    Math.floor(total / parts) + (i < total % parts ? 1 : 0))
}

/**
 * Runs one load against one or more servers (separate ports share the connections) for
 * `seconds`, and merges what the instances saw.
 */
export async function fire (
  urls: string[], load: Load, seconds: number, connections = CONNECTIONS
): Promise<RunStats> {
  const samples = new Samples()
  const parts = split(connections, urls.length)
  const runs = await Promise.all(urls.map((url, i) =>
    start(url, load, parts[i] ?? 1, seconds, samples)))
  // Building 64 connections' requests happens before 'start' and is not measured.
  const elapsed = (Math.max(...runs.map((r) => r.ended)) -
    Math.min(...runs.map((r) => r.began))) / 1000
  const sum = (pick: (r: autocannon.Result) => number) =>
    runs.reduce((total, run) => total + pick(run.result), 0)
  const non2xx = sum((r) => r.non2xx)
  const connErrors = sum((r) => r.errors)
  return {
    responses: samples.count,
    seconds: elapsed,
    rps: samples.count / elapsed,
    p50: samples.percentile(0.5),
    p99: samples.percentile(0.99),
    non2xx,
    connErrors,
    timeouts: sum((r) => r.timeouts),
    errors: non2xx + connErrors
  }
}

/**
 * Sends `requests` in turn, each connection starting at its own offset so that the 64
 * connections spread over all users instead of asking for the same session together.
 *
 * One prebuilt request per user is the cheaper way to rotate tokens. Measured here against
 * GET /bare, 3 runs of 5 s each, the load generator spent per request: 31-36 us of CPU
 * with this prebuilt list (its setup included: 64 connections x N requests, built before
 * the clock starts), 39-57 us rotating one request in `setupRequest`, which rebuilds the
 * request on every send, and 22-28 us sending one fixed token.
 */
export function rotating (requests: autocannon.Request[]): Load {
  let client = 0
  return {
    requests: requests.slice(0, 1),
    setupClient: (c) => {
      const offset = Math.floor(client++ * requests.length / CONNECTIONS) % requests.length
      c.setRequests([...requests.slice(offset), ...requests.slice(0, offset)])
    }
  }
}

/** GET `path` with a different user's access token on every request. */
export function withTokens (path: string, tokens: string[]): Load {
  return rotating(tokens.map((token) => ({
    method: 'GET', path, headers: { authorization: `Bearer ${token}` }
  })))
}

/** POST `path` with one JSON body per request, in turn. */
export function withBodies (path: string, bodies: object[]): Load {
  return rotating(bodies.map((body) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })))
}
