// Which driver and server errors mean "MariaDB is unavailable" (answered as 503
// naming mariadb) rather than a bug in the gateway's SQL (left as is: a 500 and
// a stack trace in the log).
import { providerBusy, providerDown } from '../../errors.ts'
import { isWriteConflict } from '../../store/transaction.ts'

interface DriverError {
  fatal?: boolean
  errno?: number
  code?: string
  sqlState?: string
}

// Driver errors (45000..45999) about connections, sockets, timeouts and the pool.
const DRIVER_DOWN = new Set([
  45001, // ER_CONNECTION_ALREADY_CLOSED
  45009, // ER_SOCKET_UNEXPECTED_CLOSE
  45012, // ER_CONNECTION_TIMEOUT
  45013, // ER_CMD_CONNECTION_CLOSED
  45019, // ER_SOCKET
  45026, // ER_SOCKET_TIMEOUT
  45027, // ER_POOL_ALREADY_CLOSED
  45028, // ER_GET_CONNECTION_TIMEOUT
  45035, // ER_ADD_CONNECTION_CLOSED_POOL
  45037, // ER_CLOSING_POOL
  45039, // ER_INITIAL_TIMEOUT_ERROR
  45042, // ER_PING_TIMEOUT
  45060, // ER_POOL_NOT_INITIALIZED
  45061 // ER_POOL_NO_CONNECTION
])

// Server errors that say the server cannot serve us now (not that our SQL is wrong).
const SERVER_DOWN = new Set([
  1021, // ER_DISK_FULL
  1040, // ER_CON_COUNT_ERROR (too many connections)
  1045, // ER_ACCESS_DENIED_ERROR (credentials revoked or changed)
  1053, // ER_SERVER_SHUTDOWN
  1077, // ER_NORMAL_SHUTDOWN
  1079, // ER_SHUTDOWN_COMPLETE
  1152, // ER_ABORTING_CONNECTION
  1154,
  1155,
  1156,
  1157,
  1158,
  1159,
  1160,
  1161, // network read/write errors and timeouts
  1290, // ER_OPTION_PREVENTS_STATEMENT (e.g. --read-only)
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED
  1969, // ER_STATEMENT_TIMEOUT (max_statement_time)
  2002,
  2003,
  2006,
  2013 // client-side connection errors
])

const SYSTEM_DOWN = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN'
])

export function isConnectionError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false
  const e = err as DriverError
  if (e.fatal === true) return true
  if (typeof e.errno === 'number' && (DRIVER_DOWN.has(e.errno) || SERVER_DOWN.has(e.errno))) return true
  if (typeof e.code === 'string' && SYSTEM_DOWN.has(e.code)) return true
  if (typeof e.sqlState === 'string' && e.sqlState.startsWith('08')) return true
  const cause = (err as { cause?: unknown }).cause
  return cause !== undefined && cause !== err && isConnectionError(cause)
}

/**
 * Rethrows connection-level failures as VG_PROVIDER_DOWN (503, naming mariadb), write
 * conflicts the retries did not resolve (retryWriteConflicts) as VG_PROVIDER_BUSY
 * (503 with Retry-After); anything else unchanged.
 */
export function translateError(err: unknown): never {
  if (isConnectionError(err)) throw providerDown('mariadb', err)
  if (isWriteConflict(err)) throw providerBusy('mariadb', err)
  throw err
}

/** The server error number of a driver error, if any. */
export function errnoOf(err: unknown): number | undefined {
  const n = (err as DriverError | null)?.errno
  return typeof n === 'number' ? n : undefined
}

/**
 * Runs one database operation and translates its failure (translateError): the
 * one place the provider's parts turn driver errors into gateway errors.
 */
export async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    return translateError(err)
  }
}
