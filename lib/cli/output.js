'use strict'
// What the CLI writes for one profile: a .cpuprofile per thread, one pprof, one flame
// graph and a short text summary.

const fs = require('node:fs')
const path = require('node:path')
const { ProfileReport } = require('../main/report')

const TOP = 10

const ms = (ns) => (Number(ns) / 1e6).toFixed(1)

/** Self samples per frame (`function (file:line)`), from the thread's collapsed stacks. */
function selfSamples(profile) {
  const self = new Map()
  let total = 0
  for (const line of profile.toCollapsed().split('\n')) {
    if (!line) continue
    const cut = line.lastIndexOf(' ')
    const leaf = line.slice(0, cut).split(';').at(-1)
    const n = Number(line.slice(cut + 1))
    self.set(leaf, (self.get(leaf) ?? 0) + n)
    total += n
  }
  return { self, total }
}

/** A few lines a person reads first: threads, their CPU time, and where it went. */
function summaryText(report, { command, window }) {
  const wallMs = ms(report.endNs - report.startNs)
  const out = [
    `profiled-worker: ${command}`,
    `${window}: ${wallMs} ms wall time, ${report.threads.length} thread(s)`,
    '',
    'CPU time per thread (the thread’s own CPU clock; samples include idle ones):',
  ]
  const rows = report.threads.map((t) => [
    String(t.threadId),
    t.name,
    t.status + (t.exitCode === null || t.exitCode === undefined ? '' : ` (${t.exitCode})`),
    typeof t.effects.cpuTimeNs === 'bigint' ? `${ms(t.effects.cpuTimeNs)} ms` : '–',
    String(t.profile.sampleCount),
  ])
  const head = ['thread', 'name', 'status', 'CPU', 'samples']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const fmt = (r) =>
    '  ' +
    r
      .map((c, i) => (i === 0 || i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  out.push(fmt(head), ...rows.map(fmt), '')
  out.push(`Top functions by self time (samples, share of the thread’s non-idle samples):`)
  for (const t of report.threads) {
    const { self, total } = selfSamples(t.profile)
    const idle = self.get('(idle)') ?? 0
    self.delete('(idle)')
    const busy = total - idle
    out.push(`${t.name} (thread ${t.threadId}): ${busy} non-idle of ${total} samples`)
    const top = [...self].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP)
    for (const [frame, n] of top) {
      out.push(
        `  ${String(n).padStart(7)}  ${((100 * n) / busy).toFixed(1).padStart(5)}%  ${frame}`,
      )
    }
    if (top.length === 0) out.push('  (no samples)')
  }
  return out.join('\n') + '\n'
}

const fileSafe = (name) => name.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '') || 'thread'

/**
 * The report with every thread under its file-safe name, so that the file names, the
 * pprof's thread_name label, the summary and the flame graph all say the same thing
 * (`go tool pprof -tagfocus=thread_name=<name from the file name>` finds the thread).
 */
function withFileSafeNames(report) {
  return new ProfileReport({
    ...report,
    threads: report.threads.map((t) => ({ ...t, name: fileSafe(t.name) })),
  })
}

/**
 * Write the report's files into `dir` (created if missing); resolves with their paths.
 * Existing files of the same names are replaced; nothing else in `dir` is touched.
 */
async function writeReport(original, dir, { command, window }) {
  const report = withFileSafeNames(original)
  await fs.promises.mkdir(dir, { recursive: true })
  const files = []
  const write = async (name, data) => {
    const file = path.join(dir, name)
    await fs.promises.writeFile(file, data)
    files.push(file)
  }
  for (const t of report.toCpuprofiles())
    await write(`thread-${t.threadId}-${t.name}.cpuprofile`, t.json)
  await write('profile.pb.gz', await report.toPprofAsync())
  const title = `${command} — ${window}, ${ms(report.endNs - report.startNs)} ms`
  // A whole run is mostly waiting; without (idle) the towers show where code ran.
  await write('flamegraph.svg', await report.toFlamegraphAsync({ title, idle: false }))
  // Last, and whole (renamed into place): once summary.txt is there, the window is complete.
  const summary = path.join(dir, 'summary.txt')
  await fs.promises.writeFile(`${summary}.partial`, summaryText(report, { command, window }))
  await fs.promises.rename(`${summary}.partial`, summary)
  files.push(summary)
  return files
}

/**
 * writeReport, synchronously, for a process that is exiting: `missing` lists the threads
 * whose last piece did not arrive, for the summary.
 */
function writeReportSync(original, dir, { command, window }) {
  const report = withFileSafeNames(original)
  fs.mkdirSync(dir, { recursive: true })
  for (const t of report.toCpuprofiles())
    fs.writeFileSync(path.join(dir, `thread-${t.threadId}-${t.name}.cpuprofile`), t.json)
  fs.writeFileSync(path.join(dir, 'profile.pb.gz'), report.toPprof())
  const title = `${command} — ${window}, ${ms(report.endNs - report.startNs)} ms`
  fs.writeFileSync(path.join(dir, 'flamegraph.svg'), report.toFlamegraph({ title, idle: false }))
  const late = report.threads.filter((t) => t.status === 'timeout')
  const note = late.length
    ? `\nWritten at process exit. Missing: the last samples of ${late
        .map((t) => `${t.name} (thread ${t.threadId})`)
        .join(', ')}, which did not answer in time.\n`
    : '\nWritten at process exit: every thread answered.\n'
  const summary = path.join(dir, 'summary.txt')
  fs.writeFileSync(`${summary}.partial`, summaryText(report, { command, window }) + note)
  fs.renameSync(`${summary}.partial`, summary)
}

module.exports = { writeReportSync, writeReport, summaryText, fileSafe }
