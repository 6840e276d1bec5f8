// Where the Qdrant provider tests get a server: the project's Qdrant REST
// emulator by default, or a real Qdrant when QDRANT_URL is set (then every
// collection a test creates has a unique name and is deleted at the end).
import { randomUUID } from 'node:crypto'
import { QdrantClient } from '@qdrant/js-client-rest'
import { startQdrantEmulator, type QdrantEmulator } from '@vector-gateway/qdrant-emulator'
import { QdrantProvider, type QdrantProviderOptions } from '../../../src/providers/qdrant/qdrant-provider.ts'

export const REAL_QDRANT_URL =
  process.env.QDRANT_URL !== undefined && process.env.QDRANT_URL !== '' ? process.env.QDRANT_URL : undefined
export const REAL_QDRANT_API_KEY = process.env.QDRANT_API_KEY !== '' ? process.env.QDRANT_API_KEY : undefined

export interface QdrantTarget {
  url: string
  apiKey?: string
  /** the emulator, when the tests run against it */
  emulator?: QdrantEmulator
  close(): Promise<void>
}

/** An emulator (optionally with an api key), or the real server named by QDRANT_URL. */
export async function qdrantTarget(opts: { apiKey?: string; forceEmulator?: boolean } = {}): Promise<QdrantTarget> {
  if (REAL_QDRANT_URL !== undefined && opts.forceEmulator !== true) {
    return { url: REAL_QDRANT_URL, apiKey: REAL_QDRANT_API_KEY, close: async () => {} }
  }
  const emulator = await startQdrantEmulator({ apiKey: opts.apiKey })
  return {
    url: emulator.url,
    apiKey: opts.apiKey,
    emulator,
    close: async () => {
      await emulator.close()
    }
  }
}

export function uniqueCollection(prefix = 'vg_test'): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`
}

export function rawClient(target: QdrantTarget): QdrantClient {
  return new QdrantClient({
    url: target.url,
    timeout: 10_000,
    checkCompatibility: false,
    headers: target.apiKey === undefined ? {} : { 'api-key': target.apiKey }
  })
}

/** A provider on a fresh collection (created by init() unless `init: false`). */
export async function freshProvider(
  target: QdrantTarget,
  dimension: number,
  options: Partial<QdrantProviderOptions> & { init?: boolean } = {}
): Promise<{ provider: QdrantProvider; collection: string; cleanup(): Promise<void> }> {
  const collection = options.collection ?? uniqueCollection()
  const provider = new QdrantProvider({
    url: target.url,
    apiKey: target.apiKey,
    collection,
    dimension,
    timeoutMs: 5000,
    warn: () => {},
    ...options
  })
  if (options.init !== false) await provider.init()
  return {
    provider,
    collection,
    async cleanup() {
      await provider.close()
      try {
        await rawClient(target).deleteCollection(collection)
      } catch {
        /* already gone, or the server is down */
      }
    }
  }
}
