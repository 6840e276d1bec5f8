/**
 * Fault injection state: down (refuse or reset connections), slow answers, failing answers.
 * Controlled in-process through `emulator.faults`; nothing of it is reachable over HTTP.
 */

export interface FaultRequest {
  method: string
  /** normalised path without query string, e.g. /collections/docs/points/query */
  path: string
  /** parsed JSON body, undefined when empty or not JSON */
  body: unknown
}

export type FaultMatcher = (req: FaultRequest) => boolean

export interface FailOptions {
  /** only requests for which this returns true fail (default: all) */
  match?: FaultMatcher
  /** fail this many matching requests, then stop failing (default: until reset) */
  times?: number
  /** error text in {"status":{"error":...}} (default depends on the status) */
  message?: string
  /** extra response headers, e.g. {'retry-after': '1'} (a 429 gets retry-after: 1 by default) */
  headers?: Record<string, string>
}

export interface SlowOptions {
  /** only delay requests for which this returns true (default: all) */
  match?: FaultMatcher
}

export interface DownOptions {
  /**
   * 'refuse' (default): close the listening socket, so new connections get ECONNREFUSED.
   * 'reset': keep listening but destroy every incoming connection at once (ECONNRESET / socket hang up).
   * Either way every open (keep-alive or in-flight) connection is destroyed.
   */
  mode?: 'refuse' | 'reset'
}

export interface QdrantFaults {
  /** Stop answering. Resolves once the listener is closed (mode 'refuse'). */
  down(opts?: DownOptions): Promise<void>
  /** Serve again on the same host and port. */
  up(): Promise<void>
  /** Delay every (matching) answer by `ms` milliseconds; slow(0) turns it off. */
  slow(ms: number, opts?: SlowOptions): void
  /** Answer (matching) requests with a Qdrant-shaped error of the given HTTP status. */
  fail(status?: number, opts?: FailOptions): void
  /** Clear every fault (and come back up when down). */
  reset(): Promise<void>
  readonly isDown: boolean
}

export interface FailRule {
  status: number
  match?: FaultMatcher
  remaining: number
  message: string
  headers: Record<string, string>
}

function defaultMessage(status: number): string {
  switch (status) {
    case 400:
      return 'Bad request: emulated failure (fault injection)'
    case 403:
      return 'Forbidden: emulated failure (fault injection)'
    case 404:
      return 'Not found: emulated failure (fault injection)'
    case 408:
      return 'Timeout: emulated failure (fault injection)'
    case 429:
      return 'Rate limiting exceeded: emulated failure (fault injection)'
    case 503:
      return 'Service unavailable: emulated failure (fault injection)'
    default:
      return 'Service internal error: emulated failure (fault injection)'
  }
}

export class FaultState {
  down: false | 'refuse' | 'reset' = false
  slowMs = 0
  slowMatch: FaultMatcher | undefined
  rules: FailRule[] = []

  setSlow(ms: number, opts: SlowOptions = {}): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`slow(ms): invalid delay ${ms}`)
    this.slowMs = ms
    this.slowMatch = opts.match
  }

  addFailure(status = 500, opts: FailOptions = {}): void {
    if (!Number.isInteger(status) || status < 100 || status > 599)
      throw new RangeError(`fail(status): invalid status ${status}`)
    const headers = { ...(opts.headers ?? {}) }
    if (status === 429 && !Object.keys(headers).some(h => h.toLowerCase() === 'retry-after'))
      headers['retry-after'] = '1'
    this.rules.push({
      status,
      match: opts.match,
      remaining: opts.times ?? Infinity,
      message: opts.message ?? defaultMessage(status),
      headers
    })
  }

  delayFor(req: FaultRequest): number {
    if (this.slowMs <= 0) return 0
    if (this.slowMatch && !this.slowMatch(req)) return 0
    return this.slowMs
  }

  /** Returns the rule that answers this request (consuming one of its `times`), if any. */
  takeFailure(req: FaultRequest): FailRule | null {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue
      if (rule.match && !rule.match(req)) continue
      rule.remaining--
      this.rules = this.rules.filter(r => r.remaining > 0)
      return rule
    }
    return null
  }

  clear(): void {
    this.slowMs = 0
    this.slowMatch = undefined
    this.rules = []
  }
}
