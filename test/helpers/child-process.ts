// Child processes for the tests and the benchmark (bench/harness.ts): spawned with
// their output collected, run to their end, or polled until an HTTP probe answers.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ChildOptions {
  /** the working directory; the repository root by default */
  cwd?: string
  /** the child's whole environment is PATH and these; without it the child inherits this process's */
  env?: Record<string, string>
}

export interface Child {
  child: ChildProcessByStdio<null, Readable, Readable>
  /** stdout and stderr so far, interleaved as they came */
  output(): string
  stdout(): string
  stderr(): string
  /** the exit code once the child has ended (null after a signal) */
  exited: Promise<number | null>
  /** sends `signal` unless the child has ended already, then waits for its end */
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** Spawns `command args` with stdin closed and stdout and stderr collected. */
export function startChild(command: string, args: string[], options: ChildOptions = {}): Child {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env === undefined ? process.env : { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => {
    output += String(d)
    stdout += String(d)
  })
  child.stderr.on('data', d => {
    output += String(d)
    stderr += String(d)
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return {
    child,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

export interface ChildRun {
  code: number | null
  output: string
  stdout: string
  stderr: string
}

/** Runs `command args` to its end; with `timeoutMs`, SIGKILL after that long. */
export async function runChild(
  command: string,
  args: string[],
  options: ChildOptions & { timeoutMs?: number } = {}
): Promise<ChildRun> {
  const c = startChild(command, args, options)
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => c.child.kill('SIGKILL'), options.timeoutMs)
  const code = await c.exited
  clearTimeout(timer)
  return { code, output: c.output(), stdout: c.stdout(), stderr: c.stderr() }
}

/**
 * Polls `url` every 100 ms until it answers 2xx. Throws when the child exits first or,
 * after killing it, when `timeoutMs` passes; the message names `what` and has its output.
 */
export async function waitUntilAnswering(c: Child, url: string, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (c.child.exitCode !== null) throw new Error(`${what} exited with ${c.child.exitCode}: ${c.output()}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    if (Date.now() > deadline) {
      await c.kill('SIGKILL')
      throw new Error(`${what} did not start in time: ${c.output()}`)
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
