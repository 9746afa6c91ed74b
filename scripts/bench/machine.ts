import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

export interface Machine {
  cpus: number
  cpuModel: string
  memoryGiB: number
  node: string
  autocannon: string
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverage: number[]
  commit: string
}

function commit (root: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root }).length > 0
    return `${head.toString().trim()}${dirty ? ' (with uncommitted changes)' : ''}`
  } catch {
    return 'unknown'
  }
}

function packageVersion (root: string, name: string): string {
  try {
    const file = `${root}/node_modules/${name}/package.json`
    return String(JSON.parse(readFileSync(file, 'utf8')).version)
  } catch {
    return 'unknown'
  }
}

export function describeMachine (root: string): Machine {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    autocannon: packageVersion(root, 'autocannon'),
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    commit: commit(root)
  }
}

export function header (machine: Machine): string {
  return [
    `latch bench: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, ` +
      `node ${machine.node}, autocannon ${machine.autocannon}, commit ${machine.commit}`,
    `load average at start: ${machine.loadAverage.join(' ')}`,
    'The load generator, latch, the baseline server and six Redis nodes all share these ' +
      `${machine.cpus} cores:`,
    'every figure is what this one machine does with all of them at once.'
  ].join('\n')
}
