'use strict'
// tinypool 1 and 2 (ES modules only). The class is reached through the very file that
// created the worker, whose module the loader has cached: synchronously with
// require(esm) where Node has it (20.19, 22.12 and later; it hands back the instance the
// app imported), else by import(), which settles a few microtasks later — so on older
// Nodes a task submitted in the same tick as the pool's first worker is not seen.

const path = require('node:path')
const { pathToFileURL } = require('node:url')
const { wrapRun } = require('./run-option')

function wrap(ns) {
  const Tinypool = ns?.Tinypool ?? ns?.default
  return typeof Tinypool === 'function' && wrapRun(Tinypool.prototype)
}

module.exports = {
  name: 'tinypool',
  majors: [1, 2],
  instrument(root) {
    const entry = path.join(root, 'dist', 'index.js')
    if (process.features.require_module) {
      try {
        return wrap(require(entry))
      } catch {
        // e.g. an entry that awaits at its top level: the asynchronous way below
      }
    }
    return import(pathToFileURL(entry).href).then(wrap)
  },
}
