'use strict'
// `npm run mutants`: mutation testing, the proof that the tests can fail. cargo-mutants
// over src/core (.cargo/mutants.toml) and Stryker over lib/'s pure modules
// (stryker.config.mjs), one mutant at a time at low priority; then the scores, per tool
// and per file. Slow (tens of minutes), so not part of CI; results go in
// docs/mutation-testing.md.
//
//   node scripts/mutants.js            both tools, then the scores
//   node scripts/mutants.js --rust     cargo-mutants only (--js: Stryker only)
//   node scripts/mutants.js --report   only the scores of the last runs' outputs
//
// Score = caught / (caught + missed): cargo-mutants' timeouts and unviable mutants, and
// Stryker's timeouts (counted as killed by Stryker itself), are shown apart.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const RUST_OUT = path.join(ROOT, 'mutants.out', 'outcomes.json')
const JS_OUT = path.join(ROOT, 'reports', 'mutation', 'mutation.json')

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' })
  if (r.error) throw r.error
  // Both tools exit non-zero when mutants survive; the scores below say how many.
  return r.status
}

const pct = (caught, missed) =>
  caught + missed === 0 ? 'n/a' : `${((100 * caught) / (caught + missed)).toFixed(1)}%`

function table(title, rows, columns) {
  console.log(`\n${title}`)
  const header = ['file', ...columns, 'score']
  const lines = [header, ...rows.map((r) => [r.file, ...columns.map((c) => String(r[c])), r.score])]
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)))
  for (const l of lines) console.log(l.map((v, i) => v.padEnd(widths[i])).join('  '))
}

function rustScores() {
  if (!fs.existsSync(RUST_OUT)) return console.log(`\ncargo-mutants: no ${RUST_OUT}`)
  const { outcomes } = JSON.parse(fs.readFileSync(RUST_OUT, 'utf8'))
  const kinds = {
    CaughtMutant: 'caught',
    MissedMutant: 'missed',
    Timeout: 'timeout',
    Unviable: 'unviable',
  }
  const byFile = new Map()
  const total = { file: 'all', caught: 0, missed: 0, timeout: 0, unviable: 0 }
  for (const o of outcomes) {
    const m = o.scenario.Mutant
    if (m === undefined) continue
    const kind = kinds[o.summary]
    if (kind === undefined) continue
    if (!byFile.has(m.file))
      byFile.set(m.file, { file: m.file, caught: 0, missed: 0, timeout: 0, unviable: 0 })
    byFile.get(m.file)[kind]++
    total[kind]++
  }
  const rows = [...byFile.values(), total].map((r) => ({ ...r, score: pct(r.caught, r.missed) }))
  table('cargo-mutants (src/core): score = caught / (caught + missed)', rows, [
    'caught',
    'missed',
    'timeout',
    'unviable',
  ])
  return total
}

function jsScores() {
  if (!fs.existsSync(JS_OUT)) return console.log(`\nStryker: no ${JS_OUT}`)
  const { files } = JSON.parse(fs.readFileSync(JS_OUT, 'utf8'))
  const total = { file: 'all', killed: 0, timeout: 0, survived: 0, other: 0 }
  const rows = []
  for (const [file, { mutants }] of Object.entries(files)) {
    const r = { file, killed: 0, timeout: 0, survived: 0, other: 0 }
    for (const m of mutants) {
      const kind =
        { Killed: 'killed', Timeout: 'timeout', Survived: 'survived', NoCoverage: 'survived' }[
          m.status
        ] ?? 'other'
      r[kind]++
      total[kind]++
    }
    rows.push(r)
  }
  rows.push(total)
  for (const r of rows) r.score = pct(r.killed + r.timeout, r.survived)
  table('Stryker (lib/): score = (killed + timeout) / (killed + timeout + survived)', rows, [
    'killed',
    'timeout',
    'survived',
    'other',
  ])
  return total
}

const argv = process.argv.slice(2)
const only = argv.includes('--rust') ? 'rust' : argv.includes('--js') ? 'js' : null
if (!argv.includes('--report')) {
  if (only !== 'js') run('nice', ['-n', '15', 'cargo', 'mutants', '-j', '1', '--timeout', '120'])
  if (only !== 'rust') run('nice', ['-n', '15', 'npx', 'stryker', 'run'])
}
if (only !== 'js') rustScores()
if (only !== 'rust') jsScores()
