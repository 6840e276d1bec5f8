// Collects a gateway's pino log lines (parsed) so a test can check what was logged.
import { Writable } from 'node:stream'

export interface LogCapture {
  lines: Array<Record<string, unknown>>
  logger: { level: string; stream: Writable }
}

export function captureLog(level = 'info'): LogCapture {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  return { lines, logger: { level, stream } }
}
