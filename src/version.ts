import { createRequire } from 'node:module'

// Runs from src/ (tsx) and from dist/src/ (the build): package.json is one or two folders up.
const require = createRequire(import.meta.url)
function servicePackage(): { version: string } {
  try {
    return require('../package.json') as { version: string }
  } catch {
    return require('../../package.json') as { version: string }
  }
}

export const SERVICE_VERSION = servicePackage().version
