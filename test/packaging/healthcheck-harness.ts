// Runs healthcheck commands for real against small local servers (packaging tests).
import { execFile } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

export async function withServer(
  handler: Handler,
  fn: (port: number, requests: string[]) => Promise<void>
): Promise<void> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    handler(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    await fn((server.address() as AddressInfo).port, requests)
  } finally {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
}

/** Runs a command; resolves with its exit code (never rejects on a non-zero exit). */
export async function exitCode(file: string, args: string[], env: Record<string, string>): Promise<number> {
  return await new Promise(resolve => {
    execFile(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 15000 }, err => {
      if (err === null) resolve(0)
      else resolve(typeof err.code === 'number' ? err.code : 255)
    })
  })
}
