import type { RunStats } from './load.js'

export interface Round {
  round: number
  stats: RunStats
  /** Cores each process group kept busy during the run. */
  cpu: Record<string, number>
}

export interface Row {
  name: string
  /** GET rows are compared with the baseline's routes; the others are not. */
  compared: boolean
  rounds: Round[]
  /** Why the scenario was not measured. */
  na?: string
}

export interface Check {
  label: string
  pass?: boolean
  measured: string
}

/** The round with the median req/s: its latencies belong to the same run. */
export function median (row: Row | undefined): Round | undefined {
  if (row === undefined || row.rounds.length === 0) return undefined
  const sorted = [...row.rounds].sort((a, b) => a.stats.rps - b.stats.rps)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** Share of attempts that failed: non-2xx answers, connection errors and timeouts. */
export function errorRate (row: Row): number {
  let errors = 0
  let attempts = 0
  for (const { stats } of row.rounds) {
    errors += stats.errors
    attempts += stats.responses + stats.connErrors
  }
  return attempts === 0 ? 0 : errors / attempts
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits)

const thousands = (value: number) => Math.round(value).toLocaleString('en-US')

function cells (row: Row, stateless?: number, bare?: number): string[] {
  const round = median(row)
  if (round === undefined) return [row.name, 'n/a', '', '', '', '', '', row.na ?? 'not measured']
  const { stats, cpu } = round
  const ratio = (base?: number) => (row.compared && base ? `${fixed(stats.rps / base, 2)}x` : '-')
  const cores = ['gen', 'latch', 'baseline', 'redis', 'other'].map((g) => fixed(cpu[g], 2))
    .join('/')
  const errors = row.rounds.reduce((n, r) => n + r.stats.errors, 0)
  return [row.name, thousands(stats.rps), fixed(stats.p50, 2), fixed(stats.p99, 2),
    String(errors), ratio(stateless), ratio(bare), cores]
}

const HEADINGS = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs stateless', 'vs bare',
  'cores gen/latch/base/redis/other']

/** The results table: the median round of each scenario, errors over all rounds. */
export function table (rows: Row[]): string {
  const find = (name: string) => median(rows.find((row) => row.name === name))?.stats.rps
  const lines = [HEADINGS, ...rows.map((row) => cells(row, find('stateless'), find('bare')))]
  const widths = HEADINGS.map((_, i) => Math.max(...lines.map((line) => line[i]?.length ?? 0)))
  const format = (line: string[]) => line.map((cell, i) =>
    i === 0 || i === line.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)
  ).join('  ').trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [format(HEADINGS), rule, ...lines.slice(1).map(format)].join('\n')
}

export function checkLine (check: Check): string {
  const verdict = check.pass === undefined ? 'N/A' : check.pass ? 'PASS' : 'FAIL'
  return `${verdict}: ${check.label} (measured ${check.measured})`
}

export interface Targets {
  rows: Row[]
  cpus: number
  bytesPerSession?: number
}

function check (label: string, value: number | undefined, pass: (v: number) => boolean,
  shown: (v: number) => string): Check {
  if (value === undefined || !Number.isFinite(value)) return { label, measured: 'n/a' }
  return { label, pass: pass(value), measured: shown(value) }
}

/** The targets latch is held to, each against the median rounds. */
export function targets ({ rows, cpus, bytesPerSession }: Targets): Check[] {
  const stats = (name: string) => median(rows.find((row) => row.name === name))?.stats
  const me = stats('me')
  const during = stats('me+logins')
  const [stateless, bare, small, large] = ['stateless', 'bare', 'me@1k', 'me@1M'].map(stats)
  const div = (a?: number, b?: number) => (a === undefined || !b ? undefined : a / b)
  const times = (v: number) => `${v.toFixed(2)}x`
  return [
    check('/me >= 1.0x stateless', div(me?.rps, stateless?.rps), (v) => v >= 1, times),
    check('/me >= 0.5x bare', div(me?.rps, bare?.rps), (v) => v >= 0.5, times),
    check('/me p99 <= 15 ms', me?.p99, (v) => v <= 15, (v) => `${v.toFixed(2)} ms`),
    check('/me p99 during logins <= 2x idle p99', div(during?.p99, me?.p99), (v) => v <= 2,
      (v) => `${times(v)}: ${during?.p99.toFixed(2)} vs ${me?.p99.toFixed(2)} ms`),
    check('logins >= 40/s per core', div(stats('login')?.rps, cpus), (v) => v >= 40,
      (v) => `${v.toFixed(1)}/s per core on ${cpus} cores`),
    check('refresh >= 3000/s', stats('refresh')?.rps, (v) => v >= 3000,
      (v) => `${Math.round(v)}/s`),
    check('/me@1M within 10% of /me@1k', div(large?.rps, small?.rps),
      (v) => Math.abs(v - 1) <= 0.1, (v) => `${v >= 1 ? '+' : ''}${((v - 1) * 100).toFixed(1)}%`),
    check('<= 400 bytes per session', bytesPerSession, (v) => v <= 400,
      (v) => `${Math.round(v)} bytes`)
  ]
}

/** Other processes busy during a run take cores from the bench, and its figures drop. */
export function interference (rows: Row[]): string | undefined {
  const other = rows.flatMap((row) => row.rounds.map((round) => round.cpu.other ?? 0))
  const worst = Math.max(0, ...other)
  if (worst < 0.25) return undefined
  return `WARNING: other processes on this machine used up to ${worst.toFixed(2)} cores ` +
    'during the runs (column "other");\nthe figures are lower and noisier than this ' +
    'machine can do alone.'
}
