// Builds the admin console (Vue 3) into ui/dist, served by the gateway at /admin/ui/
// (src/plugins/admin-ui.ts). `npm run build:ui` runs it; scripts/prepare.sh runs it
// when the build is missing or older than these sources.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/ui/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The polyfill would be the only script not loaded from a file; the CSP allows none inline.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0
  }
})
