/**
 * HTTP layer: node:http server, path normalisation, api-key check, fault injection, response
 * envelopes and the request log / exchange hook.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { QdrantApi, type ApiOutcome } from './api.ts'
import { QdrantError, serviceError } from './errors.ts'
import { FaultState, type FaultRequest, type QdrantFaults } from './faults.ts'
import { parseJson, stringifyJson } from './json.ts'

export interface Exchange {
  method: string
  /** normalised path, no query string */
  path: string
  /** raw query string without '?' ('' when none) */
  query: string
  requestHeaders: http.IncomingHttpHeaders
  /** raw request body ('' when none) */
  requestBody: string
  status: number
  responseHeaders: Record<string, string>
  /** raw response body ('' when none) */
  responseBody: string
}

export interface QdrantEmulatorOptions {
  /** default 0 (ephemeral) */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  /** when set, requests need `api-key: <key>` or `Authorization: Bearer <key>` (except /, /healthz, /livez, /readyz) */
  apiKey?: string
  /** called after every answered request */
  onExchange?: (exchange: Exchange) => void
}

export interface RequestLogEntry {
  method: string
  path: string
}

export interface QdrantEmulator {
  /** http://host:port */
  readonly url: string
  readonly port: number
  readonly host: string
  readonly faults: QdrantFaults
  /** every request received (also faulted / rejected ones), in order */
  readonly requests: RequestLogEntry[]
  /** exchange hook, may be replaced at any time */
  onExchange: ((exchange: Exchange) => void) | undefined
  /** drop all collections */
  reset(): void
  /** stop listening and destroy open connections */
  close(): Promise<void>
  /** names of the collections currently held */
  collectionNames(): string[]
}

const AUTH_WHITELIST_EXACT = new Set(['/', '/healthz'])
const AUTH_WHITELIST_PREFIX = ['/readyz', '/livez']

function normalisePath(pathname: string): string {
  const p = pathname.replace(/\/{2,}/g, '/')
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
    req.on('aborted', () => reject(new Error('aborted')))
  })
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

export async function startServer(opts: QdrantEmulatorOptions = {}): Promise<QdrantEmulator> {
  const host = opts.host ?? '127.0.0.1'
  const apiKey = opts.apiKey
  const api = new QdrantApi()
  const faults = new FaultState()
  const sockets = new Set<Socket>()
  const requests: RequestLogEntry[] = []
  let closed = false

  const emulator = {
    onExchange: opts.onExchange
  } as { onExchange: QdrantEmulatorOptions['onExchange'] }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.statusCode = 500
        res.end()
      }
    })
  })
  server.keepAliveTimeout = 5_000

  server.on('connection', (socket: Socket) => {
    if (faults.down || closed) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (faults.down) {
      req.socket.destroy()
      return
    }
    const started = process.hrtime.bigint()
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9
    const raw = await readBody(req)
    const method = (req.method ?? 'GET').toUpperCase()
    const rawUrl = req.url ?? '/'
    const qIndex = rawUrl.indexOf('?')
    const pathname = normalisePath(qIndex >= 0 ? rawUrl.slice(0, qIndex) : rawUrl)
    const queryString = qIndex >= 0 ? rawUrl.slice(qIndex + 1) : ''
    requests.push({ method, path: pathname })

    let body: unknown
    let bodyError: QdrantError | null = null
    if (raw.trim() !== '') {
      try {
        body = parseJson(raw)
      } catch (err) {
        bodyError = err instanceof QdrantError ? err : serviceError(String(err))
      }
    }

    const send = (status: number, headers: Record<string, string>, text: string): void => {
      if (res.destroyed || req.socket.destroyed || faults.down) {
        req.socket.destroy()
        return
      }
      const responseHeaders = { ...headers, 'content-length': String(Buffer.byteLength(text)) }
      res.writeHead(status, responseHeaders)
      res.end(text)
      const hook = emulator.onExchange
      if (hook) {
        try {
          hook({
            method,
            path: pathname,
            query: queryString,
            requestHeaders: req.headers,
            requestBody: raw,
            status,
            responseHeaders,
            responseBody: text
          })
        } catch {
          /* a failing hook must not break the emulator */
        }
      }
    }
    const sendJson = (status: number, value: unknown, extra: Record<string, string> = {}): void =>
      send(status, { 'content-type': 'application/json', ...extra }, stringifyJson(value))
    const sendError = (err: QdrantError): void =>
      sendJson(err.status, { status: { error: err.message }, time: elapsed() }, err.headers)

    const faultReq: FaultRequest = { method, path: pathname, body }
    const delay = faults.delayFor(faultReq)
    if (delay > 0) {
      await sleep(delay)
      if (res.destroyed || req.socket.destroyed || faults.down) {
        req.socket.destroy()
        return
      }
    }
    const failure = faults.takeFailure(faultReq)
    if (failure) {
      sendError(new QdrantError(failure.status, failure.message, failure.headers))
      return
    }

    if (apiKey !== undefined) {
      const whitelisted = AUTH_WHITELIST_EXACT.has(pathname) || AUTH_WHITELIST_PREFIX.some(p => pathname.startsWith(p))
      if (!whitelisted) {
        let key = headerValue(req.headers['api-key'])
        if (key === undefined) {
          const auth = headerValue(req.headers.authorization)
          if (auth?.startsWith('Bearer ')) key = auth.slice('Bearer '.length)
        }
        const text =
          key === undefined
            ? 'Must provide an API key or an Authorization bearer token'
            : key !== apiKey
              ? 'Invalid API key or JWT'
              : null
        if (text !== null) {
          send(401, { 'content-type': 'text/plain; charset=utf-8' }, text)
          return
        }
      }
    }

    let segments: string[]
    try {
      segments = pathname
        .split('/')
        .filter(Boolean)
        .map(s => decodeURIComponent(s))
    } catch {
      send(404, {}, '')
      return
    }
    const route = api.match(method, segments)
    if (route === 'no-path' || route === 'no-method') {
      // actix-web registers each endpoint as its own resource guarded by method: anything else is a bare 404
      send(404, {}, '')
      return
    }
    let outcome: ApiOutcome
    try {
      if (bodyError && (method === 'POST' || method === 'PUT' || method === 'PATCH')) throw bodyError
      outcome = route.handler({ method, segments, query: new URLSearchParams(queryString), body }, route.params)
    } catch (err) {
      sendError(err instanceof QdrantError ? err : serviceError(err instanceof Error ? err.message : String(err)))
      return
    }
    switch (outcome.kind) {
      case 'result':
        sendJson(200, { result: outcome.result, status: 'ok', time: elapsed() })
        return
      case 'json':
        sendJson(200, outcome.body)
        return
      case 'text':
        send(200, { 'content-type': 'text/plain; charset=utf-8' }, outcome.text)
        return
    }
  }

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      server.once('error', onError)
      server.listen(port, host, () => {
        server.off('error', onError)
        resolve()
      })
    })

  const stopListening = (): Promise<void> =>
    new Promise(resolve => {
      if (!server.listening) {
        resolve()
        return
      }
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    })

  await listen(opts.port ?? 0)
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host

  const faultApi: QdrantFaults = {
    async down(o = {}) {
      const mode = o.mode ?? 'refuse'
      faults.down = mode
      for (const s of sockets) s.destroy()
      if (mode === 'refuse') await stopListening()
    },
    async up() {
      if (closed) throw new Error('the Qdrant emulator is closed')
      faults.down = false
      if (!server.listening) await listen(port)
    },
    slow(ms, o) {
      faults.setSlow(ms, o)
    },
    fail(status = 500, o) {
      faults.addFailure(status, o)
    },
    async reset() {
      faults.clear()
      if (faults.down) await faultApi.up()
    },
    get isDown() {
      return faults.down !== false
    }
  }

  const result: QdrantEmulator = {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    faults: faultApi,
    requests,
    get onExchange() {
      return emulator.onExchange
    },
    set onExchange(fn) {
      emulator.onExchange = fn
    },
    reset() {
      api.store.clear()
    },
    async close() {
      closed = true
      faults.clear()
      faults.down = false
      for (const s of sockets) s.destroy()
      await stopListening()
    },
    collectionNames() {
      return [...api.store.collections.keys()]
    }
  }
  return result
}
