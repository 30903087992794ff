'use strict'
// Piscina 4 and 5 (CommonJS; its ESM entry re-exports the CommonJS build, so the class
// is in require.cache however the app loaded it).

const path = require('node:path')
const { wrapRun } = require('./run-option')

module.exports = {
  name: 'piscina',
  majors: [4, 5],
  /** Called synchronously while the pool creates its first worker. */
  instrument(root) {
    const loaded = require.cache[path.join(root, 'dist', 'index.js')]?.exports
    const Piscina = loaded?.Piscina ?? loaded?.default
    if (typeof Piscina !== 'function') return false
    return wrapRun(Piscina.prototype)
  },
}
