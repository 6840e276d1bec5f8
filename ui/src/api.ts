// The only way the page talks to the gateway: the existing admin API, with the key
// in the X-API-Key header and the operator's name in X-Actor (for the audit log).
import { session } from './session.ts'

const BASE = '/admin/vector-storage'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

export async function call<T>(method: string, path: string, body?: unknown, key = session.key): Promise<T> {
  const headers: Record<string, string> = { 'X-API-Key': key, Accept: 'application/json' }
  if (session.actor !== '') headers['X-Actor'] = session.actor
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit'
    })
  } catch {
    throw new ApiError(0, 'NETWORK', 'The gateway cannot be reached (network error)')
  }
  const text = await res.text()
  let json: unknown = null
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {}
  if (!res.ok) {
    const err = (json ?? {}) as { code?: string; message?: string }
    throw new ApiError(res.status, err.code ?? `HTTP_${res.status}`, err.message ?? `${res.status} ${res.statusText}`)
  }
  return json as T
}

export type ProviderName = 'mariadb' | 'qdrant'

export interface VectorIndex {
  exists: boolean
  usable: boolean
  name?: string
  distance?: string
  m?: number
}

export interface Status {
  current_provider: ProviderName
  qdrant_configured: boolean
  source: 'settings' | 'env' | 'default'
  env_provider: ProviderName | null
  read_mode: 'merged' | 'active'
  changed_at: string | null
  changed_by: string | null
  providers: {
    mariadb: {
      status: string
      version?: string
      table: string
      vector_index?: VectorIndex
      chunks: number | null
      warnings: string[]
      error?: string
    }
    qdrant: { status: string; version?: string; collection: string | null; chunks: number | null; error?: string }
  }
  user_overrides: number
  migration: { id: number; status: string } | null
}

export interface Change {
  id: number
  scope: 'global' | 'user'
  user_id: number | null
  setting: 'provider' | 'read_mode'
  previous_value: string | null
  new_value: string | null
  changed_by: string | null
  changed_at: string
}

export interface MigrationSummary {
  id: number
  from: ProviderName
  to: ProviderName
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled'
  user_ids: number[] | null
  batch_size: number
  delete_source: boolean
  planned: boolean
  total_users: number
  completed_users: number
  in_progress_users: number
  pending_users: number
  failed_users: number
  total_chunks: number
  migrated_chunks: number
  chunks_per_second: number | null
  eta_seconds: number | null
  created_by: string | null
  created_at: string
  started_at: string | null
  completed_at: string | null
  error: string | null
  runner: string | null
}

export interface MigrationUser {
  user_id: number
  status: 'pending' | 'in_progress' | 'completed' | 'failed'
  total_chunks: number
  migrated_chunks: number
  error: string | null
  source_count: number | null
  target_count: number | null
  attempts: number
}

export interface MigrationDetail extends MigrationSummary {
  users: MigrationUser[]
  pagination: { total: number; page?: number; per_page?: number; pages?: number }
}

export interface UserProvider {
  user_id: number
  provider: ProviderName
  source: 'user' | 'settings' | 'env' | 'default'
}

export const PROVIDER_LABEL: Record<ProviderName, string> = { mariadb: 'MariaDB', qdrant: 'Qdrant' }
