'use strict'
// Every example in examples/ runs and writes what it promises.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { spawnSync } = require('node:child_process')
const { CpuProfile } = require('..')
const { samplesUnder, ROOT } = require('./helpers')

const POOLS =
  Number(process.versions.node.split('.')[0]) >= 20 ? {} : { skip: 'Piscina 5 needs Node ≥ 20' }

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'pw-example-'))
const example = (...p) => path.join(ROOT, 'examples', ...p)

function run(argv) {
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  return r
}

function cpuprofiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ file: f, profile: CpuProfile.parse(fs.readFileSync(path.join(dir, f))) }))
}

function assertWritten(dir, names) {
  const files = fs.readdirSync(dir)
  for (const f of names) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`)
  for (const f of files.filter((f) => f.endsWith('.pb.gz')))
    assert.ok(zlib.gunzipSync(fs.readFileSync(path.join(dir, f))).length > 0, `${f} is gzip`)
  for (const f of files.filter((f) => f.endsWith('.svg')))
    assert.match(fs.readFileSync(path.join(dir, f), 'utf8'), /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/)
}

test('examples/demo.js (npm run demo): the request’s profiles, and where they went', () => {
  const out = tmp()
  const r = run([example('demo.js'), '--out', out])
  assertWritten(out, [
    'request.pb.gz',
    'request.flamegraph.svg',
    'request.collapsed',
    'request.report.json',
  ])
  const profiles = cpuprofiles(out)
  assert.equal(profiles.length, 3, 'main, the pool worker it used, the one-shot worker')
  assert.ok(profiles.some((p) => samplesUnder(p.profile, 'resizeImage') > 0))
  assert.match(fs.readFileSync(path.join(out, 'request.flamegraph.svg'), 'utf8'), /resizeImage/)
  assert.match(r.stdout, /request\.flamegraph\.svg/)
})

test('examples/piscina-request.js: the pool workers’ share of one request', POOLS, () => {
  const out = tmp()
  const r = run([example('piscina-request.js'), '--out', out])
  assertWritten(out, ['piscina-request.pb.gz', 'piscina-request.flamegraph.svg'])
  const workers = cpuprofiles(out).filter((p) => !p.file.includes('thread-0-'))
  assert.ok(workers.length >= 1, 'at least one pool worker ran the request’s tasks')
  assert.ok(workers.some((p) => samplesUnder(p.profile, 'renderRow') > 0))
  assert.match(r.stdout, /ms CPU/)
})

test(
  'npx profiled-worker -- node examples/pool-app/server.js: an app that knows nothing of us',
  POOLS,
  () => {
    const out = tmp()
    const r = run([
      path.join(ROOT, 'bin', 'profiled-worker.js'),
      // One process: its files directly in --out.
      '--first-only',
      '--out',
      out,
      '--',
      process.execPath,
      example('pool-app', 'server.js'),
      '6',
    ])
    assert.match(r.stdout, /request 5: \d+ bytes/, 'the app’s own output passes through')
    assertWritten(out, [
      'profile.pb.gz',
      'flamegraph.svg',
      'summary.txt',
      'thread-0-main.cpuprofile',
    ])
    const workers = cpuprofiles(out).filter((p) => !p.file.includes('thread-0-'))
    assert.equal(workers.length, 2, 'both pool workers')
    for (const w of workers) assert.ok(samplesUnder(w.profile, 'renderRow') > 0, w.file)
    assert.match(fs.readFileSync(path.join(out, 'summary.txt'), 'utf8'), /renderRow/)
  },
)
