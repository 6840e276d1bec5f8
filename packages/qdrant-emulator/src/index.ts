/**
 * Qdrant REST emulator (@vector-gateway/qdrant-emulator; see the package's README.md).
 *
 * An in-memory stand-in for Qdrant 1.19's REST API, good enough for everything the gateway does
 * through the official `@qdrant/js-client-rest` client: collections, payload indexes, points
 * (upsert incl. update_mode, retrieve, delete, payload updates, scroll, count, query), filters,
 * Qdrant's error answers, the api-key check, and in-process fault injection.
 *
 *   const qdrant = await startQdrantEmulator();
 *   const client = new QdrantClient({ url: qdrant.url, timeout: 5000 });
 *   await qdrant.faults.down();   // connections refused
 *   await qdrant.faults.up();
 *   await qdrant.close();
 */
import { startServer, type QdrantEmulator, type QdrantEmulatorOptions } from './server.ts'

export type { Exchange, QdrantEmulator, QdrantEmulatorOptions, RequestLogEntry } from './server.ts'
export type { DownOptions, FailOptions, FaultMatcher, FaultRequest, QdrantFaults, SlowOptions } from './faults.ts'
export { QDRANT_VERSION } from './api.ts'

export async function startQdrantEmulator(opts: QdrantEmulatorOptions = {}): Promise<QdrantEmulator> {
  return startServer(opts)
}
