'use strict'
// tinypool 1 and 2 (ES modules only). An ES module's namespace is not reachable
// synchronously on every Node (require(esm) is missing before 20.19 and warns on some
// lines), so the class comes from import() of the very file that created the worker:
// the loader's cache hands back the instance the app uses, a few microtasks later —
// long before the worker it is creating can take a task.

const path = require('node:path')
const { pathToFileURL } = require('node:url')
const { wrapRun } = require('./run-option')

module.exports = {
  name: 'tinypool',
  majors: [1, 2],
  instrument(root) {
    const entry = pathToFileURL(path.join(root, 'dist', 'index.js')).href
    return import(entry).then((ns) => {
      const Tinypool = ns?.Tinypool ?? ns?.default
      return typeof Tinypool === 'function' && wrapRun(Tinypool.prototype)
    })
  },
}
