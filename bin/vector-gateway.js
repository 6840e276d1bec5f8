#!/usr/bin/env node
// The `vector-gateway` command: runs src/cli.ts through tsx (no build step).
import { register } from 'tsx/esm/api'

register()
const { main } = await import(new URL('../src/cli.ts', import.meta.url).href)
const code = await main(process.argv)
// pools and sockets are closed by now; exit explicitly so an idle keep-alive cannot hold the process
process.exit(code)
