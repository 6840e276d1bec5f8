// One lint setup for the whole repository (npm run lint): typescript-eslint's
// recommended rules with type information, formatting left to Prettier.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.local/', '.tap/', 'ui/dist/', 'packages/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused arguments and locals named _x are deliberate (interface shapes, destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }
      ],
      'no-empty': ['error', { allowEmptyCatch: true }]
    }
  },
  {
    // Tests and benchmarks read JSON answers whose shape the assertions check; the Qdrant
    // emulator (packages/qdrant-emulator) takes any JSON a client sends and checks it by hand.
    files: ['test/**', 'bench/**', 'packages/qdrant-emulator/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  prettier
)
