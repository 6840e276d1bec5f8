// Runs the real service (`node --import tsx src/server.ts`) as a child process,
// for tests that need several replicas or a kill -9.
import type { ChildProcess } from 'node:child_process'
import net from 'node:net'
import { ADMIN_KEY } from './app.ts'
import { startChild, waitUntilAnswering } from './child-process.ts'

export interface GatewayProcess {
  url: string
  child: ChildProcess
  output: () => string
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

export async function startGatewayProcess(
  env: Record<string, string>,
  t?: { teardown(fn: () => unknown): void }
): Promise<GatewayProcess> {
  const port = await freePort()
  const c = startChild(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env }
  })
  t?.teardown(async () => {
    await c.kill('SIGKILL')
  })
  const url = `http://127.0.0.1:${port}`
  await waitUntilAnswering(c, `${url}/health/live`, 'gateway', 30000)
  return { url, child: c.child, output: c.output, kill: c.kill }
}

/** One JSON call to a gateway process (admin key unless told), answering status and parsed body. */
export async function callGateway(
  gw: { url: string },
  method: string,
  path: string,
  body?: unknown,
  key: string = ADMIN_KEY
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: await res.json() }
}
