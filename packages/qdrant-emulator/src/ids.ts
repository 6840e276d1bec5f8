/**
 * Point ids: unsigned 64-bit integers or UUIDs (Qdrant's ExtendedPointId).
 *
 * Internally every id gets a `key` string whose lexicographic order equals Qdrant's id order:
 * all numeric ids first (ascending), then UUIDs (ascending by their 128-bit value).
 *   numeric: "0" + 20-digit zero-padded decimal
 *   uuid:    "1" + lowercase hyphenated form (fixed hyphen positions keep hex order)
 */
import { formatError } from './errors.ts'

/** number for safe integers, bigint for integers above 2^53-1, string for UUIDs (normalised). */
export type PointId = number | bigint | string

export interface ParsedId {
  id: PointId
  key: string
}

const U64_MAX = (1n << 64n) - 1n
const HEX32 = /^[0-9a-fA-F]{32}$/
const HYPHENATED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** Parses the textual UUID forms the Rust `uuid` crate accepts; returns lowercase hyphenated or null. */
export function normaliseUuid(text: string): string | null {
  let s = text
  if (s.length === 45 && s.slice(0, 9).toLowerCase() === 'urn:uuid:') s = s.slice(9)
  else if (s.length === 38 && s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1)
  let hex: string
  if (HYPHENATED.test(s)) hex = s.replace(/-/g, '')
  else if (HEX32.test(s)) hex = s
  else return null
  hex = hex.toLowerCase()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** serde's message for a value that is neither u64 nor UUID. */
export function invalidPointIdError(value: unknown): Error {
  return formatError(
    `value ${describe(value)} is not a valid point ID, valid values are either an unsigned integer or a UUID`
  )
}

export function numericKey(n: number | bigint): string {
  return '0' + n.toString().padStart(20, '0')
}

/** Returns the parsed id or null when the value is not a valid point id. */
export function tryParsePointId(value: unknown): ParsedId | null {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || !Number.isSafeInteger(value)) return null
    return { id: value, key: numericKey(value) }
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) return null
    const id = value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
    return { id, key: numericKey(value) }
  }
  if (typeof value === 'string') {
    const uuid = normaliseUuid(value)
    if (uuid === null) return null
    return { id: uuid, key: '1' + uuid }
  }
  return null
}

export function parsePointId(value: unknown): ParsedId {
  const parsed = tryParsePointId(value)
  if (!parsed) throw invalidPointIdError(value)
  return parsed
}

/** Point id as it appears in a URL path segment (GET /collections/x/points/{id}). */
export function parsePathPointId(segment: string): ParsedId {
  if (/^\d+$/.test(segment)) {
    const big = BigInt(segment)
    const parsed = tryParsePointId(big)
    if (parsed) return parsed
  }
  const parsed = tryParsePointId(segment)
  if (!parsed) throw invalidPointIdError(segment)
  return parsed
}

export function parsePointIdList(value: unknown, field = 'points'): ParsedId[] {
  if (!Array.isArray(value)) throw formatError(`invalid type for \`${field}\`, expected a sequence of point ids`)
  return value.map(v => parsePointId(v))
}
