// One sequential keep-alive client (issue 9 §1): every query goes through each method in
// turn, query by query, for `rounds` rounds; the first round warms up and is not counted.
// A method given a pid is also charged that process's CPU time per request (CpuMeter, /proc).
import { CpuMeter, dataHeaders, httpRequest } from './harness.ts'
import { summarize, type Summary } from './stats.ts'

export interface ClientMethod {
  name: string
  /** the process whose CPU time each of this method's requests is charged */
  pid?: number
  run(i: number): Promise<unknown>
}

export interface OneClientResult {
  /** ms per request of each method, measured rounds only */
  latency: Record<string, Summary>
  /** CPU ms per measured request of each method given a pid */
  cpuMsPerRequest: Record<string, number>
}

/**
 * Runs queries 0..queries-1 through `methods` (interleaved per query) `rounds` times. `check`,
 * untimed, sees each query's answers (in the order of `methods`) in every round, warm-up included.
 */
export async function oneClient(
  methods: ClientMethod[],
  queries: number,
  rounds: number,
  check?: (i: number, answers: unknown[]) => void
): Promise<OneClientResult> {
  const times = methods.map(() => [] as number[])
  const cpu = methods.map(() => 0)
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < queries; i++) {
      const answers: unknown[] = []
      for (const [m, method] of methods.entries()) {
        const t = performance.now()
        const meter = method.pid === undefined ? undefined : new CpuMeter({ [method.name]: method.pid })
        answers.push(await method.run(i))
        if (round > 0) times[m].push(performance.now() - t)
        if (round > 0 && meter !== undefined) cpu[m] += meter.stop()[method.name] ?? 0
      }
      check?.(i, answers)
    }
  }
  const latency: Record<string, Summary> = {}
  const cpuMsPerRequest: Record<string, number> = {}
  for (const [m, method] of methods.entries()) {
    latency[method.name] = summarize(times[m])
    if (method.pid !== undefined) cpuMsPerRequest[method.name] = (cpu[m] * 1000) / times[m].length
  }
  return { latency, cpuMsPerRequest }
}

/** `POST /search` of `bodies[i]` to the gateway and to the bare-HTTP process, as the methods 'gateway' and 'bare'. */
export function searchOverHttp(
  gateway: { url: string; pid: number },
  bare: { url: string; pid: number },
  bodies: string[]
): ClientMethod[] {
  return Object.entries({ gateway, bare }).map(([name, target]) => ({
    name,
    pid: target.pid,
    run: async (i: number) => await httpRequest(target.url, 'POST', '/search', bodies[i], dataHeaders)
  }))
}
