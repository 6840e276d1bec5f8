// Start-up checks of the server (MariaDB >= 11.7 with the VECTOR type), the
// settings the provider sizes itself by, and the health probe.
import type { Pool } from 'mariadb'
import { IncompatibleStoreError } from '../../errors.ts'
import { call, errnoOf, translateError } from './mariadb-errors.ts'
import type { ServerDefaults } from './vector-index.ts'

/** Parses "11.8.2-MariaDB-..." into [11, 8, 2]. */
export function parseServerVersion(version: string): { mariadb: boolean; major: number; minor: number; patch: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version)
  return {
    mariadb: /mariadb/i.test(version),
    major: m === null ? 0 : Number(m[1]),
    minor: m === null ? 0 : Number(m[2]),
    patch: m === null ? 0 : Number(m[3])
  }
}

function refusal(problem: string): InstanceType<typeof IncompatibleStoreError> {
  return new IncompatibleStoreError(
    `${problem}: vector-gateway needs MariaDB >= 11.7 with the VECTOR type (11.8 LTS recommended). ` +
      'Upgrade the server or point MARIADB_URL at one that has it.'
  )
}

/** The server's version, once it is known to be a MariaDB that can run VEC_DISTANCE_COSINE; refuses any other. */
export async function checkServer(pool: Pool): Promise<string> {
  const version = await call(async () => {
    const [row] = await pool.query('SELECT VERSION() AS v')
    return String(row.v)
  })
  const v = parseServerVersion(version)
  if (!v.mariadb) throw refusal(`The server reports version ${version}, which is not MariaDB`)
  if (v.major < 11 || (v.major === 11 && v.minor < 7)) {
    throw refusal(`MariaDB ${version} has no VECTOR type`)
  }
  try {
    await pool.query("SELECT VEC_DISTANCE_COSINE(VEC_FromText('[1,0]'), VEC_FromText('[0,1]')) AS d")
  } catch (err) {
    if (errnoOf(err) === undefined || errnoOf(err)! >= 45000) return translateError(err)
    throw refusal(`MariaDB ${version} cannot run VEC_DISTANCE_COSINE (${(err as Error).message})`)
  }
  return version
}

export interface ServerSettings {
  /** mhnsw defaults a VECTOR index without M= or DISTANCE= takes */
  defaults: ServerDefaults
  /** bytes of one INSERT statement */
  statementBytes: number
}

/** The server's mhnsw defaults and the INSERT size its max_allowed_packet allows (or `maxStatementBytes`). */
export async function readServerSettings(pool: Pool, maxStatementBytes?: number): Promise<ServerSettings> {
  return await call(async () => {
    const [s] = await pool.query(
      'SELECT @@mhnsw_default_m AS m, @@mhnsw_default_distance AS d, @@max_allowed_packet AS p'
    )
    return {
      defaults: { m: Number(s.m), distance: String(s.d).toLowerCase() },
      // leave room for the statement text and protocol overhead
      statementBytes: maxStatementBytes ?? Math.max(1024 * 1024, Math.min(Number(s.p) / 2, 64 * 1024 * 1024))
    }
  })
}

/** The server's version, or an error once it did not answer within `ms`. */
export async function serverVersion(pool: Pool, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`MariaDB did not answer within ${ms} ms`)), ms)
  })
  const [row] = await Promise.race([pool.query('SELECT VERSION() AS v'), timeout]).finally(() => clearTimeout(timer))
  return String(row.v)
}
