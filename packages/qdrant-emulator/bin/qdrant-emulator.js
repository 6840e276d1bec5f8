#!/usr/bin/env node
// The package ships TypeScript sources (it is a dev tool run through tsx, never built), so its
// command registers tsx's loader before loading the CLI: `qdrant-emulator --port 6333`.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli.ts')
