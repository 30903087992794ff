'use strict'
// `profiled-worker merge DIR... [--out DIR]`: the files of several windows (--every,
// --signal) as one set. Each thread's .cpuprofiles, wherever they lie under the DIRs,
// are joined in time order (CpuProfile.concat merges their trees by call path).

const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')
const { CpuProfile } = require('../util/native')
const { ProfileReport } = require('../main/report')
const { writeReport } = require('./output')

const MERGE_USAGE = `Usage: profiled-worker merge DIR... [--out DIR]

Joins the profiles under each DIR (windows of --every or --signal, and the
<pid>-<script>/ directories of several processes, kept apart) into one set:
thread-<id>-<name>.cpuprofile per thread, profile.pb.gz, flamegraph.svg, summary.txt.
  -o, --out <dir>   where to write (default: ./profiles-merged)
`

const FILE = /^thread-(\d+)-(.+)\.cpuprofile$/
// The CLI writes each Node process of a command into <out>/<pid>-<script>/.
/** Process directories by pid ('' first). */
function procOrder(a, b) {
  const pid = (d) => (d === '' ? -1 : Number(PROCESS_DIR.exec(d)[1]))
  return pid(a) - pid(b) || (a < b ? -1 : a > b ? 1 : 0)
}

/** Each .cpuprofile under `dir`, with the process directory it lies in ('' if none). */
function* cpuprofiles(dir, proc = PROCESS_DIR.test(path.basename(dir)) ? path.basename(dir) : '') {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) yield* cpuprofiles(p, PROCESS_DIR.test(e.name) ? e.name : proc)
    else if (FILE.test(e.name)) yield { file: p, proc }
  }
}

/**
 * The threads under `dirs`, each thread's pieces joined: a ProfileReport. Thread ids are
 * only unique within a process, so threads of several processes are kept apart, named
 * `<pid>-<script>/<thread>` and numbered in order (a report's ids must be unique).
 */
function mergeDirs(dirs) {
  const threads = new Map() // `${proc}\0${threadId}` → { proc, threadId, name, parts }
  for (const dir of dirs) {
    for (const { file, proc } of cpuprofiles(dir)) {
      const [, id, name] = FILE.exec(path.basename(file))
      const key = `${proc}\0${id}`
      const t = threads.get(key) ?? { proc, threadId: Number(id), name, parts: [] }
      t.parts.push(CpuProfile.parse(fs.readFileSync(file)))
      threads.set(key, t)
    }
  }
  if (threads.size === 0)
    throw new Error(`no thread-<id>-<name>.cpuprofile under ${dirs.join(', ')}`)
  const several = new Set([...threads.values()].map((t) => t.proc)).size > 1
  const ordered = [...threads.values()].sort(
    (a, b) => procOrder(a.proc, b.proc) || a.threadId - b.threadId,
  )
  let t0 = Infinity
  let t1 = -Infinity
  const merged = ordered.map(({ proc, threadId, name, parts }, i) => {
    parts.sort((a, b) => a.startTime - b.startTime)
    const profile = parts.reduce((a, b) => a.concat(b))
    t0 = Math.min(t0, profile.startTime)
    t1 = Math.max(t1, profile.endTime)
    return {
      threadId: several ? i : threadId,
      name: several ? `${proc}/${name}` : name,
      status: 'ok',
      exitCode: null,
      profile,
      effects: { errors: [] },
    }
  })
  return new ProfileReport({
    id: 0,
    name: 'merged',
    startNs: BigInt(Math.round(t0)) * 1000n,
    endNs: BigInt(Math.round(t1)) * 1000n,
    threads: merged,
  })
}

/** argv after `merge` → exit code. */
async function runMerge(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    })
  } catch (err) {
    process.stderr.write(`profiled-worker merge: ${err.message}\n\n${MERGE_USAGE}`)
    return 2
  }
  if (parsed.values.help) {
    process.stdout.write(MERGE_USAGE)
    return 0
  }
  const dirs = parsed.positionals
  if (dirs.length === 0) {
    process.stderr.write(`profiled-worker merge: which directories?\n\n${MERGE_USAGE}`)
    return 2
  }
  const out = path.resolve(parsed.values.out ?? 'profiles-merged')
  try {
    const report = mergeDirs(dirs)
    await writeReport(report, out, { command: `merge ${dirs.join(' ')}`, window: 'merged' })
  } catch (err) {
    process.stderr.write(`profiled-worker merge: ${err.message}\n`)
    return 1
  }
  return 0
}

const PROCESS_DIR = /^(\d+)-/

/**
 * <out>/<pid>-<script>/ of each process → <out>/profile.pb.gz with every thread of every
 * process, named `<pid>-<script>/<thread>` (thread ids renumbered in order, as a report's
 * must be unique). Returns how many processes it found.
 */
function combineProcessDirs(out) {
  if (!fs.existsSync(out)) return 0
  const procs = fs
    .readdirSync(out, { withFileTypes: true })
    .filter((e) => e.isDirectory() && PROCESS_DIR.test(e.name))
    .map((e) => e.name)
    .sort(procOrder)
  const threads = []
  let t0 = Infinity
  let t1 = -Infinity
  for (const proc of procs) {
    let report
    try {
      report = mergeDirs([path.join(out, proc)])
    } catch {
      continue // a process that wrote nothing (it was killed, or ran no JavaScript)
    }
    for (const t of report.threads) {
      threads.push({ ...t, threadId: threads.length, name: `${proc}/${t.name}` })
      t0 = Math.min(t0, t.profile.startTime)
      t1 = Math.max(t1, t.profile.endTime)
    }
  }
  if (threads.length === 0) return 0
  const report = new ProfileReport({
    id: 0,
    name: 'all processes',
    startNs: BigInt(Math.round(t0)) * 1000n,
    endNs: BigInt(Math.round(t1)) * 1000n,
    threads,
  })
  fs.writeFileSync(path.join(out, 'profile.pb.gz'), report.toPprof())
  return procs.length
}

module.exports = { runMerge, mergeDirs, combineProcessDirs }
