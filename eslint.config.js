'use strict'
// Lints every hand-written JavaScript file. Formatting is prettier's job, so only rules that
// find mistakes are on: the recommended set plus a few that catch what reviews missed here.
const js = require('@eslint/js')
const globals = require('globals')

module.exports = [
  {
    ignores: [
      'binding.js',
      'binding.d.ts',
      'target/**',
      'node_modules/**',
      'bench/peers/**',
      '.node-matrix/**',
      'reports/**',
      '.stryker-tmp/**',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // An empty catch must say why it swallows (a comment), never be silent by accident.
      'no-empty': ['error', { allowEmptyCatch: false }],
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': ['error', { destructuring: 'all' }],
      strict: ['error', 'global'],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },
]
