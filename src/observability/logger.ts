// The log calls domain code makes, in pino's (object, message) form: Fastify's
// logger and the CLI's pino logger both fit. Classes ask for the levels they use
// (Pick<Logger, 'warn'>), so a test can pass a small recorder.
export interface Logger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}
