// Compiled by `npm run typecheck` (tsc --noEmit): the public types must accept real usage
// and reject misuse (the @ts-expect-error lines fail the check if the types get looser).
import {
  CpuProfile,
  Report,
  mergeProfiles,
  serialize,
  deserialize,
  threadCpuTime,
  monotonicToEpochNanos,
  type PprofOptions,
  type FlamegraphOptions,
  type ThreadInfo,
  type BigintJsonSyntaxError,
} from '../..'

async function usage(json: string): Promise<void> {
  const p: CpuProfile = CpuProfile.parse(json)
  const q: CpuProfile = await CpuProfile.parseAsync(Buffer.from(json))
  const w: CpuProfile = p.window(p.startTime, p.endTime)
  const r: Report = mergeProfiles(
    [
      { profile: p, threadId: 0, name: 'main', cpuTimeNs: threadCpuTime() },
      { profile: q, threadId: 1 },
    ],
    {
      profileId: 'req',
    },
  )
  const opts: PprofOptions = { timeNanos: monotonicToEpochNanos(w.startTime), periodNanos: 1e6 }
  const gz: Buffer = await r.toPprofAsync(opts)
  const text: string = await r.toCollapsedAsync()
  const fgOpts: FlamegraphOptions = { title: 'req', minWidth: 0.1 }
  const svg: string = r.toFlamegraph(fgOpts) + (await r.toFlamegraphAsync())
  const threads: ThreadInfo[] = r.threads
  const cpuprofiles: string[] = r.toCpuprofiles()
  const s: string = serialize({ a: 1n })
  const v: unknown = deserialize(s)
  try {
    deserialize('{')
  } catch (e) {
    const err = e as BigintJsonSyntaxError
    console.log(err.position, err.line, err.column)
  }
  console.log(gz, text, svg, threads, cpuprofiles, v)
  // @ts-expect-error threadId is required
  mergeProfiles([{ profile: p }])
  // @ts-expect-error cpuTimeNs is a bigint
  mergeProfiles([{ profile: p, threadId: 0, cpuTimeNs: 5 }])
  // @ts-expect-error deserialize takes text
  deserialize(Buffer.from('1'))
}
void usage

import * as pw from '../..'
import { Worker, MessageChannel } from 'node:worker_threads'

async function profiling(): Promise<void> {
  const p: pw.ActiveProfile = pw.startProfile({
    name: 'x',
    samplingIntervalUs: 500,
    mainThread: false,
    stopTimeoutMs: 100,
  })
  const r: pw.ProfileReport = await p.stop()
  const t: pw.ThreadReport | undefined = r.thread(0)
  const status: 'ok' | 'timeout' | 'exited' | 'crashed' | 'unprofiled' | undefined = t?.status
  const why: unknown = t?.error?.code
  const cpu: bigint | undefined = t?.effects.cpuTimeNs
  const malformed: number | undefined = t?.dropped.malformed
  const reason: pw.DropReason = 'foreignThread'
  const swallowed: number | undefined = t?.failures.inspector
  const kind: pw.FailureKind = 'sampler'
  const { result, report } = await pw.runProfile(async () => 42, { mainThread: 'whole' })
  // @ts-expect-error mainThread is a boolean or 'whole'
  pw.startProfile({ mainThread: 'split' })
  const n: number = result
  const gz: Buffer = await report.toPprofAsync()
  const svg: string = report.toFlamegraph({ title: 't' }) + (await report.toFlamegraphAsync())
  const count: number = pw.recordEffect('e', { a: 1n })
  const q: pw.PiscinaTaskQueue = pw.contextQueue('piscina')
  const size: number = q.size
  const wq: pw.WorkerpoolTaskQueue = pw.contextQueue('workerpool')
  const wsize: number = wq.size()
  const mine = pw.trackQueue({ items: [] as number[], push(t: number) {}, shift: () => 1 })
  const items: number[] = mine.items
  console.log(size, wsize, items)
  // @ts-expect-error not a pool kind
  pw.contextQueue('bull')
  // @ts-expect-error a queue needs push
  pw.trackQueue({ shift() {} })
  const PW: typeof Worker = pw.makeProfiledWorker(Worker, MessageChannel)
  const w: Worker = new PW('0', { eval: true })
  console.log(
    status,
    cpu,
    n,
    gz,
    svg,
    count,
    w,
    pw.activeProfiles().length,
    pw.currentProfiles(),
    pw.isPatched(),
  )
  // @ts-expect-error unknown option
  pw.startProfile({ interval: 5 })
  // @ts-expect-error title is a string
  report.toFlamegraph({ title: 5 })
}
void profiling

async function continuous(): Promise<void> {
  const handle: pw.ContinuousProfiler = pw.startContinuous({
    serviceName: 'api',
    periodMs: 60_000,
    pyroscope: { url: 'http://pyroscope:4040', tags: { env: 'prod' }, tenantId: 't' },
    otlp: 'http://collector:4318',
    onPeriod: async (report: pw.ProfileReport, period: pw.Period) => {
      console.log(report.threads.length, period.sampleCount, await period.toPprofAsync())
    },
  })
  const s: pw.ContinuousStats = handle.stats()
  const sent: number | undefined = s.exporters.pyroscope?.sent
  const last: pw.ContinuousStats = await handle.stop()
  console.log(sent, last.periods)
  // @ts-expect-error tags are strings
  pw.startContinuous({ pyroscope: { tags: { n: 1 } } })
  // @ts-expect-error unknown exporter
  pw.startContinuous({ datadog: 'http://agent' })
}
void continuous
