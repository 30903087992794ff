'use strict'
// The suite's own rules: every test file loads the hook that fails it on a promise
// rejection nobody handled (no-unhandled.js), and the hook does fail such a file.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const HOOK = /require\('\.\/(no-unhandled|helpers)'\)/

test('every test file loads the no-unhandled-rejection hook', () => {
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js'))
  const without = files.filter((f) => !HOOK.test(fs.readFileSync(path.join(__dirname, f), 'utf8')))
  assert.deepEqual(without, [])
})

test('the hook fails a file that leaves a rejection unhandled', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-hook-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'leaks.test.js')
  fs.writeFileSync(
    file,
    `require(${JSON.stringify(path.join(__dirname, 'no-unhandled.js'))})
     require('node:test')('passes, but leaves a rejection behind', () => {
       Promise.reject(new Error('nobody handles this'))
     })`,
  )
  // A runner of its own: under this one's NODE_TEST_CONTEXT it would report to us instead.
  const env = { ...process.env }
  delete env.NODE_TEST_CONTEXT
  const r = spawnSync(process.execPath, ['--test', file], { encoding: 'utf8', env })
  assert.notEqual(r.status, 0, r.stdout)
  assert.match(r.stdout, /no unhandled promise rejection/)
  assert.match(r.stdout, /nobody handles this/)
})
