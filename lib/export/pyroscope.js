'use strict'
// Grafana Pyroscope's ingest API: POST {url}/ingest?name=<app>.cpu{tags}&from=&until=
// &sampleRate=&spyName=&format=pprof, the gzipped pprof in the multipart/form-data part
// `profile`. Auth and tenant as Pyroscope's own clients take them, from the options or
// PYROSCOPE_* environment variables.

const crypto = require('node:crypto')
const { Sender } = require('./sender')
const { env } = require('./env')
const errors = require('../util/errors')

// Pyroscope's label names; values must not break the `{k=v,...}` syntax of the name.
const TAG_NAME = /^[a-zA-Z_][a-zA-Z0-9_.]*$/
const TAG_VALUE = /^[^{},=\s]*$/

function options(o, defaults) {
  const url = o.url ?? env('PYROSCOPE_SERVER_ADDRESS')
  if (typeof url !== 'string' || !/^https?:\/\//.test(url))
    throw errors.notHttpUrl('startContinuous(): pyroscope.url', url)
  const tags = { ...(o.tags ?? {}) }
  for (const [k, v] of Object.entries(tags)) {
    if (!TAG_NAME.test(k) || typeof v !== 'string' || !TAG_VALUE.test(v))
      throw errors.badLabel('startContinuous()', k, v)
  }
  return {
    url: url.replace(/\/+$/, ''),
    appName: o.appName ?? env('PYROSCOPE_APPLICATION_NAME') ?? defaults.serviceName,
    tags,
    authToken: o.authToken ?? env('PYROSCOPE_AUTH_TOKEN'),
    basicAuthUser: o.basicAuthUser ?? env('PYROSCOPE_BASIC_AUTH_USER'),
    basicAuthPassword: o.basicAuthPassword ?? env('PYROSCOPE_BASIC_AUTH_PASSWORD'),
    tenantId: o.tenantId ?? env('PYROSCOPE_TENANT_ID'),
  }
}

function headersOf(o, boundary) {
  const h = { 'Content-Type': `multipart/form-data; boundary=${boundary}` }
  if (o.basicAuthUser !== undefined) {
    const cred = `${o.basicAuthUser}:${o.basicAuthPassword ?? ''}`
    h.Authorization = `Basic ${Buffer.from(cred).toString('base64')}`
  } else if (o.authToken !== undefined) {
    h.Authorization = `Bearer ${o.authToken}`
  }
  if (o.tenantId !== undefined) h['X-Scope-OrgID'] = o.tenantId
  return h
}

function multipart(boundary, gz) {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="profile"; filename="profile.pprof"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    gz,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
}

function pyroscopeExporter(userOptions, defaults) {
  const o = options(userOptions, defaults)
  const sender = new Sender({ name: 'pyroscope', ...defaults.sender, ...userOptions })
  const name = `${o.appName}.cpu{${Object.entries(o.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`
  return {
    name: 'pyroscope',
    sender,
    /** @param {{ period, timeNanos: bigint, startMs: number, endMs: number, intervalUs: number }} p */
    push(p) {
      const request = p.period
        .toPprofAsync({ timeNanos: p.timeNanos, periodNanos: p.intervalUs * 1000 })
        .then((gz) => {
          const boundary = `profiled-worker-${crypto.randomBytes(12).toString('hex')}`
          const q = new URLSearchParams({
            name,
            from: String(Math.floor(p.startMs / 1000)),
            until: String(Math.ceil(p.endMs / 1000)),
            sampleRate: String(Math.round(1e6 / p.intervalUs)),
            spyName: 'nodespy',
            format: 'pprof',
          })
          return {
            url: `${o.url}/ingest?${q}`,
            headers: headersOf(o, boundary),
            body: multipart(boundary, gz),
          }
        })
      sender.push(request)
    },
  }
}

module.exports = { pyroscopeExporter }
