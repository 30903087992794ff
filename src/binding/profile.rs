use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer, Either, Float64Array};
use napi::{Error, Result, Status};
use napi_derive::napi;

use super::guard::invalid_arg;
use super::task::OffThread;
use crate::core::assemble::Assembly;
use crate::core::encode::collapsed::profile_to_collapsed;
use crate::core::encode::cpuprofile::to_cpuprofile;
use crate::core::encode::pprof::{profile_to_pprof, PprofOptions as CorePprofOptions};
use crate::core::own::OwnCode;
use crate::core::profile::Profile;
use crate::core::window::Spans;

/// Options for pprof encoding.
#[napi(object)]
pub struct PprofOptions {
  /// Wall-clock start of the profile, ns since the Unix epoch.
  pub time_nanos: Option<BigInt>,
  /// Sampling interval in ns (default: mean gap between samples).
  pub period_nanos: Option<f64>,
}

pub fn pprof_options(o: Option<PprofOptions>) -> Result<CorePprofOptions> {
  let Some(o) = o else {
    return Ok(CorePprofOptions::default());
  };
  let time_nanos = match o.time_nanos {
    None => 0,
    Some(b) => {
      let (v, lossless) = b.get_i64();
      if !lossless {
        return Err(invalid_arg("timeNanos must fit in a signed 64-bit integer"));
      }
      v
    }
  };
  let period_nanos = match o.period_nanos {
    None => None,
    Some(p) if p.is_finite() && p >= 0.0 => Some(p as i64),
    Some(p) => {
      return Err(invalid_arg(format!(
        "periodNanos must be a finite number >= 0, got {p}"
      )))
    }
  };
  Ok(CorePprofOptions {
    time_nanos,
    period_nanos,
  })
}

/// µs bounds from JS: ±Infinity mean "unbounded"; NaN is a caller bug.
pub fn window_bounds(t0: f64, t1: f64) -> Result<(i64, i64)> {
  if t0.is_nan() || t1.is_nan() {
    return Err(invalid_arg("window bounds must be numbers (µs), got NaN"));
  }
  if t1 < t0 {
    return Err(Error::new(
      Status::InvalidArg,
      format!("window end {t1} is before its start {t0}"),
    ));
  }
  // `as` saturates, so ±Infinity become i64::MIN / i64::MAX.
  Ok((t0.floor() as i64, t1.ceil() as i64))
}

fn parse_bytes(bytes: &[u8]) -> Result<Profile> {
  Profile::from_json(bytes).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
}

/// A validated V8 CPU profile of one thread, held natively.
#[napi]
pub struct CpuProfile {
  pub(crate) inner: Arc<Profile>,
}

impl From<Profile> for CpuProfile {
  fn from(p: Profile) -> Self {
    CpuProfile { inner: Arc::new(p) }
  }
}

#[napi]
impl CpuProfile {
  /// Parse and validate `Profiler.stop`'s profile as JSON text (or its UTF-8 bytes), or
  /// the text of a `v8.startCpuProfile()` handle's `stop()`, whose raw strings are escaped.
  #[napi(factory, catch_unwind)]
  pub fn parse(json: Either<String, Buffer>) -> Result<CpuProfile> {
    let p = match &json {
      Either::A(s) => parse_bytes(s.as_bytes())?,
      Either::B(b) => parse_bytes(b)?,
    };
    Ok(p.into())
  }

  /// `parse` on the libuv thread pool.
  #[napi(ts_return_type = "Promise<CpuProfile>")]
  pub fn parse_async(json: Either<String, Buffer>) -> AsyncTask<OffThread<Profile, CpuProfile>> {
    let bytes = match json {
      Either::A(s) => s.into_bytes(),
      Either::B(b) => b.to_vec(),
    };
    AsyncTask::new(OffThread::new(move || parse_bytes(&bytes)))
  }

  /// One thread's share of a profiling session, from its sampler chunks (JSON texts, in
  /// order): each parsed, cut to `[t0, t1]` µs (and, if given, to `spans`: flat
  /// `[start, end, ...]` µs pairs, the times the thread worked for the session), and
  /// joined, all on the libuv pool, so the JS thread neither waits nor collects the
  /// intermediate profiles.
  #[napi(ts_return_type = "Promise<CpuProfile>")]
  pub fn assemble_async(
    chunks: Vec<String>,
    t0: f64,
    t1: f64,
    spans: Option<Float64Array>,
    options: Option<AssembleOptions>,
  ) -> Result<AsyncTask<OffThread<Profile, CpuProfile>>> {
    let a = assembly("assembleAsync", chunks.len(), t0, t1, spans, options)?;
    Ok(AsyncTask::new(OffThread::new(move || {
      let parsed = chunks
        .iter()
        .enumerate()
        .map(|(k, c)| {
          parse_bytes(c.as_bytes())
            .map_err(|e| Error::new(e.status, format!("chunk {k}: {}", e.reason)))
        })
        .collect::<Result<Vec<_>>>()?;
      joined(a.assemble(&parsed.iter().collect::<Vec<_>>()))
    })))
  }

  /// `assembleAsync` for chunks already parsed (with `parseAsync`, as they arrived): the
  /// JS thread hands over references only, which costs nothing however long the profile.
  #[napi(ts_return_type = "Promise<CpuProfile>")]
  pub fn assemble_parsed_async(
    chunks: Vec<&CpuProfile>,
    t0: f64,
    t1: f64,
    spans: Option<Float64Array>,
    options: Option<AssembleOptions>,
  ) -> Result<AsyncTask<OffThread<Profile, CpuProfile>>> {
    let a = assembly("assembleParsedAsync", chunks.len(), t0, t1, spans, options)?;
    let chunks: Vec<Arc<Profile>> = chunks.iter().map(|c| c.inner.clone()).collect();
    Ok(AsyncTask::new(OffThread::new(move || {
      joined(a.assemble(&chunks.iter().map(|p| &**p).collect::<Vec<_>>()))
    })))
  }

  /// `assembleParsedAsync` on the JS thread, for a stop at process exit, when no
  /// promise settles any more.
  #[napi(catch_unwind)]
  pub fn assemble_parsed(
    chunks: Vec<&CpuProfile>,
    t0: f64,
    t1: f64,
    spans: Option<Float64Array>,
    options: Option<AssembleOptions>,
  ) -> Result<CpuProfile> {
    let a = assembly("assembleParsed", chunks.len(), t0, t1, spans, options)?;
    let refs: Vec<&Profile> = chunks.iter().map(|c| &*c.inner).collect();
    joined(a.assemble(&refs)).map(CpuProfile::from)
  }

  /// Where the profile's time went (see `ChargedTimes`).
  #[napi(getter)]
  pub fn charged(&self) -> ChargedTimes {
    let c = self.inner.charged();
    ChargedTimes {
      work_us: c.work_us as f64,
      own_us: c.own_us as f64,
      unsampled_us: c.unsampled_us as f64,
      other_us: c.other_us as f64,
    }
  }

  /// µs, monotonic clock (`process.hrtime`).
  #[napi(getter)]
  pub fn start_time(&self) -> f64 {
    self.inner.start_time as f64
  }

  #[napi(getter)]
  pub fn end_time(&self) -> f64 {
    self.inner.end_time as f64
  }

  #[napi(getter)]
  pub fn sample_count(&self) -> u32 {
    // `(other work)` and `(unsampled)` lay time out; they are no samples.
    self.inner.real_sample_count() as u32
  }

  #[napi(getter)]
  pub fn node_count(&self) -> u32 {
    self.inner.nodes.len() as u32
  }

  /// The samples within `[t0, t1]` µs (inclusive), tree pruned to what they reach.
  #[napi(catch_unwind)]
  pub fn window(&self, t0: f64, t1: f64) -> Result<CpuProfile> {
    let (a, b) = window_bounds(t0, t1)?;
    Ok(self.inner.window(a, b).into())
  }

  /// This profile followed by `next` (a later profile of the same thread), with their
  /// trees merged by call path.
  #[napi(catch_unwind)]
  pub fn concat(&self, next: &CpuProfile) -> Result<CpuProfile> {
    Profile::concat(&[&self.inner, &next.inner])
      .map(CpuProfile::from)
      .ok_or_else(|| invalid_arg("concat needs profiles"))
  }

  #[napi(catch_unwind)]
  pub fn to_cpuprofile(&self) -> Result<String> {
    Ok(to_cpuprofile(&self.inner))
  }

  #[napi(ts_return_type = "Promise<string>")]
  pub fn to_cpuprofile_async(&self) -> AsyncTask<OffThread<String, String>> {
    let p = self.inner.clone();
    AsyncTask::new(OffThread::new(move || Ok(to_cpuprofile(&p))))
  }

  #[napi(catch_unwind)]
  pub fn to_collapsed(&self) -> Result<String> {
    Ok(profile_to_collapsed(&self.inner))
  }

  #[napi(ts_return_type = "Promise<string>")]
  pub fn to_collapsed_async(&self) -> AsyncTask<OffThread<String, String>> {
    let p = self.inner.clone();
    AsyncTask::new(OffThread::new(move || Ok(profile_to_collapsed(&p))))
  }

  /// gzipped pprof.
  #[napi(catch_unwind)]
  pub fn to_pprof(&self, options: Option<PprofOptions>) -> Result<Buffer> {
    let o = pprof_options(options)?;
    Ok(profile_to_pprof(&self.inner, &o).into())
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn to_pprof_async(
    &self,
    options: Option<PprofOptions>,
  ) -> Result<AsyncTask<OffThread<Vec<u8>, Buffer>>> {
    let o = pprof_options(options)?;
    let p = self.inner.clone();
    Ok(AsyncTask::new(OffThread::new(move || {
      Ok(profile_to_pprof(&p, &o))
    })))
  }
}

/// How a thread's chunks are assembled, besides their window and spans.
#[napi(object)]
pub struct AssembleOptions {
  /// The most time one sample may stand for, µs (a few sampling intervals); longer
  /// stretches without a sample are gaps. Default: no limit.
  pub cap_us: Option<f64>,
  /// Script url prefixes of profiled-worker's own code: samples taken while it runs on
  /// its own account are charged to one `(profiled-worker)` frame.
  pub own_url_prefixes: Option<Vec<String>>,
}

/// Where a thread's profile time went, µs.
#[napi(object)]
pub struct ChargedTimes {
  /// All the time the thread worked for the profile (its spans), the next two included.
  pub work_us: f64,
  /// Of that, profiled-worker's own work, `(profiled-worker)`.
  pub own_us: f64,
  /// Of that, time no sample was taken in, `(unsampled)`.
  pub unsampled_us: f64,
  /// Time in the window outside the spans, `(other work)`.
  pub other_us: f64,
}

/// The window and spans one thread's chunks are cut to, checked on the JS thread.
fn assembly(
  what: &str,
  chunks: usize,
  t0: f64,
  t1: f64,
  spans: Option<Float64Array>,
  options: Option<AssembleOptions>,
) -> Result<Assembly> {
  let (t0, t1) = window_bounds(t0, t1)?;
  if chunks == 0 {
    return Err(invalid_arg(format!("{what} needs at least one chunk")));
  }
  let spans = spans
    .map(|s| Spans::from_flat(&s))
    .transpose()
    .map_err(|e| invalid_arg(format!("{what}: {e}")))?;
  let (cap, own) = match options {
    None => (None, Vec::new()),
    Some(o) => (o.cap_us, o.own_url_prefixes.unwrap_or_default()),
  };
  let cap_us = match cap {
    None => None,
    Some(c) if c.is_finite() && c > 0.0 => Some(c.ceil() as i64),
    Some(c) => {
      return Err(invalid_arg(format!(
        "{what}: capUs must be a finite number > 0, got {c}"
      )))
    }
  };
  Ok(
    Assembly::new(t0, t1, spans)
      .with_cap(cap_us)
      .with_own(OwnCode::new(own)),
  )
}

fn joined(p: Option<Profile>) -> Result<Profile> {
  p.ok_or_else(|| invalid_arg("no chunks"))
}
