// Runs the real service (`node --import tsx src/server.ts`) as a child process,
// for tests that need several replicas or a kill -9.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { ADMIN_KEY } from './app.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', d => {
    output += String(d)
  })
  child.stderr?.on('data', d => {
    output += String(d)
  })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  t?.teardown(async () => {
    await kill('SIGKILL')
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${output}`)
    try {
      if ((await fetch(`${url}/health/live`)).ok) return { url, child, output: () => output, kill }
    } catch {}
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  await kill('SIGKILL')
  throw new Error(`gateway did not start in time: ${output}`)
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
