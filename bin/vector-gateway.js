#!/usr/bin/env node
// The `vector-gateway` command. In a checkout (src/ present) it runs src/cli.ts
// through tsx, so it never lags behind the sources; in the image and in an
// installed package (no src/, no tsx) it runs the build, dist/src/cli.js.
import { existsSync } from 'node:fs'

const sources = new URL('../src/cli.ts', import.meta.url)
let entry = new URL('../dist/src/cli.js', import.meta.url)
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api')
  register()
  entry = sources
}
const { main } = await import(entry.href)
const code = await main(process.argv)
// pools and sockets are closed by now; exit explicitly so an idle keep-alive cannot hold the process
process.exit(code)
