'use strict'
// The .json files the package writes are for people and tools: standard JSON that jq, Python
// and JSON.parse read, with BigInts as decimal strings that pw.deserialize restores exactly.

const { test } = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const pw = require('..')

const ROOT = path.join(__dirname, '..')
let demoOut
function demo() {
  if (demoOut) return demoOut
  demoOut = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-json-files-'))
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'examples', 'demo.js'), '--out', demoOut],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
  assert.equal(r.status, 0, r.stderr)
  return demoOut
}

test('the demo’s request.report.json is standard JSON: JSON.parse and Python’s json read it', () => {
  const file = path.join(demo(), 'request.report.json')
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'))
  assert.equal(typeof parsed.startNs, 'string')
  assert.match(parsed.startNs, /^[0-9]+$/)
  const py = spawnSync('python3', ['-c', 'import json,sys; json.load(open(sys.argv[1]))', file], {
    encoding: 'utf8',
  })
  if (py.error?.code === 'ENOENT') return // no python3 on this machine: JSON.parse above stands
  assert.equal(py.status, 0, py.stderr)
})

test('pw.deserialize restores the report file’s BigInts exactly, and writing it again gives the same text', () => {
  const text = fs.readFileSync(path.join(demo(), 'request.report.json'), 'utf8')
  const report = pw.deserialize(text)
  assert.equal(typeof report.startNs, 'bigint')
  assert.equal(typeof report.endNs, 'bigint')
  assert.ok(report.endNs > report.startNs)
  assert.equal(report.$bigints, undefined)
  assert.equal(pw.deserialize(text).startNs, BigInt(JSON.parse(text).startNs))
  assert.equal(pw.serialize(report, { format: 'json' }), text)
})

test('serialize(value, { format: "json" }) round-trips BigInts beyond 2^53 and keeps numeric strings strings', () => {
  const value = {
    big: 2n ** 64n + 1n,
    negative: -(2n ** 60n),
    numericString: '12345678901234567890',
    nested: [{ 'a/b~c': 7n, n: 1.5 }, null, 'x'],
  }
  const text = pw.serialize(value, { format: 'json' })
  assert.doesNotThrow(() => JSON.parse(text))
  assert.deepEqual(pw.deserialize(text), value)
})

test('a "$bigints" that does not point at decimal strings leaves plain JSON as JSON.parse reads it', () => {
  for (const text of [
    '{"$bigints":["/missing"],"a":"1"}',
    '{"$bigints":["/a"],"a":1}',
    '{"$bigints":"/a","a":"1"}',
    '{"$bigints":[1],"a":"1"}',
  ])
    assert.deepEqual(pw.deserialize(text), JSON.parse(text))
})

test('the demo’s flame graph leaves out (idle), as the CLI’s does', () => {
  const svg = fs.readFileSync(path.join(demo(), 'request.flamegraph.svg'), 'utf8')
  assert.ok(svg.includes('<svg'))
  assert.ok(!svg.includes('(idle)'), 'the demo’s flame graph draws (idle) samples')
})
