// Summarises a V8 .cpuprofile (from `--cpu-prof`, which `npm run bench -- --cpu-prof`
// turns on for the gateway processes): self time by function and by package, and
// inclusive time of the gateway's own functions. Also a CLI:
//   node --import tsx bench/cpu-profile.ts FILE.cpuprofile [--top N] [--skip-ms MS]
import { readFileSync } from 'node:fs'
import { table } from './report.ts'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  file: string
  skipMs: number
  totalMs: number
  busyMs: number
  selfByFunction: Array<{ name: string; ms: number }>
  selfByPackage: Array<{ name: string; ms: number }>
  inclusiveOwn: Array<{ name: string; ms: number }>
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length)
  const m = /\/(src|routes|test|bench)\/.*$/.exec(url)
  if (m !== null) return m[0].slice(1)
  return url.replace(/^file:\/\//, '')
}

function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : `native ${functionName || '(anonymous)'}`
  if (url.startsWith('node:')) return 'node core'
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (/\/(src|routes)\//.test(url)) return `gateway ${/\/(src|routes)\/[^/]+/.exec(url)![0].slice(1)}`
  return shortUrl(url)
}

function frameName(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'} ${frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`}`.trim()
}

/** `skipMs`: ignore the first milliseconds of the profile (the process's start-up). */
export function summariseProfile(file: string, top = 15, skipMs = 0): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  let at = 0
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] / 1000
    if (at < skipMs) continue
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt)
  }
  const add = (m: Map<string, number>, k: string, v: number): void => {
    m.set(k, (m.get(k) ?? 0) + v)
  }
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  const own = new Map<string, number>()
  let total = 0
  let idle = 0
  for (const [id, ms] of self) {
    const node = byId.get(id)!
    total += ms
    if (node.callFrame.functionName === '(idle)') {
      idle += ms
      continue
    }
    add(fn, frameName(node.callFrame), ms)
    add(pkg, packageOf(node.callFrame), ms)
    // inclusive time of the gateway's own functions on this stack (each counted once)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame
      if (/\/(src|routes)\//.test(f.url) && !f.url.includes('node_modules')) {
        const name = frameName(f)
        if (!seen.has(name)) {
          seen.add(name)
          add(own, name, ms)
        }
      }
    }
  }
  const sorted = (m: Map<string, number>): Array<{ name: string; ms: number }> =>
    [...m]
      .map(([name, ms]) => ({ name, ms }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
  return {
    file,
    skipMs,
    totalMs: total,
    busyMs: total - idle,
    selfByFunction: sorted(fn),
    selfByPackage: sorted(pkg),
    inclusiveOwn: sorted(own)
  }
}

export function profileReport(s: ProfileSummary): string {
  const pct = (ms: number): string => `${((100 * ms) / s.busyMs).toFixed(1)}%`
  const rows = (list: Array<{ name: string; ms: number }>): string[][] =>
    list.map(x => [x.name.slice(0, 110), x.ms.toFixed(0), pct(x.ms)])
  return [
    `CPU profile ${s.file}: ${(s.totalMs / 1000).toFixed(1)} s sampled after the first ${(s.skipMs / 1000).toFixed(1)} s (start-up), ${(s.busyMs / 1000).toFixed(1)} s busy`,
    'self time by package',
    table(['package', 'ms', 'of busy'], rows(s.selfByPackage), ['l', 'r', 'r']),
    'self time by function',
    table(['function', 'ms', 'of busy'], rows(s.selfByFunction), ['l', 'r', 'r']),
    "inclusive time of the gateway's own functions",
    table(['function', 'ms', 'of busy'], rows(s.inclusiveOwn), ['l', 'r', 'r'])
  ].join('\n')
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const args = process.argv.slice(2)
  const flag = (name: string, fallback: number): number =>
    args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback
  const top = flag('--top', 20)
  const skip = flag('--skip-ms', 0)
  for (const f of args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))) {
    process.stdout.write(profileReport(summariseProfile(f, top, skip)) + '\n\n')
  }
}
