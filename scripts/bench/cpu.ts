import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Named groups of processes whose CPU time is followed, each by its root pids. */
export type Groups = Record<string, number[]>

export interface CpuSnapshot {
  at: number
  /** CPU seconds used so far by each group, by this process ('gen') and the machine. */
  seconds: Record<string, number>
}

function clockTicks (): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
}

const TICKS_PER_SECOND = clockTicks()

interface Stat {
  ppid: number
  ticks: number
}

/** utime + stime and parent of every process, read from /proc (Linux only). */
function readProcesses (): Map<number, Stat> {
  const processes = new Map<number, Stat>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      processes.set(Number(entry), {
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12])
      })
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return processes
}

/** CPU ticks of each root and all its descendants (the workers of a launcher). */
function treeTicks (processes: Map<number, Stat>, roots: number[]): number {
  const members = new Set(roots)
  let grew = true
  while (grew) {
    grew = false
    for (const [pid, stat] of processes) {
      if (!members.has(pid) && members.has(stat.ppid)) {
        members.add(pid)
        grew = true
      }
    }
  }
  let ticks = 0
  for (const pid of members) ticks += processes.get(pid)?.ticks ?? 0
  return ticks
}

/** Busy time of all cores, from the first line of /proc/stat: all but idle and iowait. */
function machineTicks (): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  const ticks = line.split(/\s+/).slice(1).map(Number)
  const total = ticks.reduce((sum, t) => sum + (Number.isFinite(t) ? t : 0), 0)
  return total - (ticks[3] ?? 0) - (ticks[4] ?? 0)
}

/**
 * CPU used so far. 'gen' is this process, which runs the load generator; the machine's
 * total shows whatever else ran at the same time (other people's builds and tests).
 */
export function snapshot (groups: Groups): CpuSnapshot {
  const processes = readProcesses()
  const own = process.cpuUsage()
  const seconds: Record<string, number> = {
    gen: (own.user + own.system) / 1e6,
    machine: machineTicks() / TICKS_PER_SECOND
  }
  for (const [name, roots] of Object.entries(groups)) {
    seconds[name] = treeTicks(processes, roots) / TICKS_PER_SECOND
  }
  return { at: performance.now(), seconds }
}

/**
 * Cores each group kept busy between two snapshots (1.0 is one core all the time), and
 * 'other': the machine's busy time that none of them accounts for.
 */
export function coresUsed (before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const elapsed = (after.at - before.at) / 1000
  const used: Record<string, number> = {}
  for (const [name, seconds] of Object.entries(after.seconds)) {
    used[name] = (seconds - (before.seconds[name] ?? 0)) / elapsed
  }
  const ours = Object.entries(used).filter(([name]) => name !== 'machine')
  used.other = Math.max(0, (used.machine ?? 0) - ours.reduce((sum, [, cores]) => sum + cores, 0))
  delete used.machine
  return used
}

/** Waits until the groups have been nearly idle for half a second, at most `maxMs`. */
export async function settle (groups: Groups, maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs
  while (performance.now() < deadline) {
    const before = snapshot(groups)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const used = coresUsed(before, snapshot(groups))
    const busy = Object.keys(groups).reduce((sum, name) => sum + (used[name] ?? 0), 0)
    // Six idle Redis nodes still run their cron: a little CPU is the floor.
    if (busy < 0.1) return
  }
}
