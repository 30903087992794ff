use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer};
use napi::{Error, Result, Status};
use napi_derive::napi;

use super::guard::invalid_arg;
use super::profile::{pprof_options, window_bounds, CpuProfile, PprofOptions};
use super::task::OffThread;
use crate::core::encode::collapsed::report_to_collapsed;
use crate::core::encode::cpuprofile::to_cpuprofile;
use crate::core::encode::flamegraph::{
  report_to_flamegraph, FlamegraphOptions as CoreFlamegraphOptions,
};
use crate::core::encode::pprof::report_to_pprof;
use crate::core::report::{Report as CoreReport, ThreadProfile};

#[napi(object)]
pub struct ThreadInfo {
  pub thread_id: i64,
  pub name: String,
  pub sample_count: u32,
  pub cpu_time_ns: Option<BigInt>,
}

/// Options for the flame graph SVG.
#[napi(object)]
pub struct FlamegraphOptions {
  /// Shown at the top of the graph. Default `'Flame Graph'`.
  pub title: Option<String>,
  /// Leave out frames narrower than this percentage of the graph, 0 – 100. Default `0.01`.
  pub min_width: Option<f64>,
  /// Draw V8's `(idle)` samples. Default `true`; `false` shows only where threads ran code.
  pub idle: Option<bool>,
}

fn flamegraph_options(o: Option<FlamegraphOptions>) -> Result<CoreFlamegraphOptions> {
  let mut out = CoreFlamegraphOptions::default();
  let Some(o) = o else {
    return Ok(out);
  };
  if let Some(title) = o.title {
    out.title = title;
  }
  if let Some(idle) = o.idle {
    out.idle = idle;
  }
  if let Some(w) = o.min_width {
    if let Some(expected) = CoreFlamegraphOptions::min_width_problem(w) {
      return Err(invalid_arg(format!("minWidth must be {expected}, got {w}")));
    }
    out.min_width_pct = w;
  }
  Ok(out)
}

/// What a flame graph's `minWidth` must be, or null for one it takes: the core's rule, for
/// the JS shell's own error.
#[napi]
pub fn flamegraph_min_width_problem(pct: f64) -> Option<String> {
  CoreFlamegraphOptions::min_width_problem(pct).map(String::from)
}

fn flamegraph(r: &CoreReport, o: &CoreFlamegraphOptions) -> Result<String> {
  report_to_flamegraph(r, o).map_err(|e| Error::new(Status::GenericFailure, e.0))
}

/// Several threads' profiles of one profiling session.
#[napi]
pub struct Report {
  inner: Arc<CoreReport>,
}

#[napi]
impl Report {
  #[napi(constructor)]
  pub fn new(profile_id: Option<String>) -> Self {
    Report {
      inner: Arc::new(CoreReport {
        profile_id: profile_id.unwrap_or_default(),
        threads: Vec::new(),
      }),
    }
  }

  #[napi(getter)]
  pub fn profile_id(&self) -> String {
    self.inner.profile_id.clone()
  }

  /// Add one thread's profile. Thread ids must be unique within a report.
  #[napi(catch_unwind)]
  pub fn add_thread(
    &mut self,
    profile: &CpuProfile,
    thread_id: i64,
    name: String,
    cpu_time_ns: Option<BigInt>,
  ) -> Result<()> {
    let cpu_time_ns = match cpu_time_ns {
      None => None,
      Some(b) => {
        let (neg, v, lossless) = b.get_u64();
        if neg || !lossless {
          return Err(invalid_arg("cpuTimeNs must be a bigint in 0..2^64"));
        }
        Some(v)
      }
    };
    Arc::make_mut(&mut self.inner)
      .add(ThreadProfile {
        thread_id,
        name,
        profile: profile.inner.clone(),
        cpu_time_ns,
      })
      .map_err(|e| Error::new(Status::InvalidArg, e.0))
  }

  #[napi(getter)]
  pub fn threads(&self) -> Vec<ThreadInfo> {
    self
      .inner
      .threads
      .iter()
      .map(|t| ThreadInfo {
        thread_id: t.thread_id,
        name: t.name.clone(),
        sample_count: t.profile.real_sample_count() as u32,
        cpu_time_ns: t.cpu_time_ns.map(BigInt::from),
      })
      .collect()
  }

  /// The profile of one thread, as a `CpuProfile`.
  #[napi(catch_unwind)]
  pub fn thread(&self, thread_id: i64) -> Result<CpuProfile> {
    self
      .inner
      .threads
      .iter()
      .find(|t| t.thread_id == thread_id)
      .map(|t| CpuProfile {
        inner: t.profile.clone(),
      })
      .ok_or_else(|| invalid_arg(format!("no thread with id {thread_id} in this report")))
  }

  #[napi(catch_unwind)]
  pub fn window(&self, t0: f64, t1: f64) -> Result<Report> {
    let (a, b) = window_bounds(t0, t1)?;
    Ok(Report {
      inner: Arc::new(self.inner.window(a, b)),
    })
  }

  /// One `.cpuprofile` JSON text per thread, in thread id order.
  #[napi(catch_unwind)]
  pub fn to_cpuprofiles(&self) -> Result<Vec<String>> {
    Ok(
      self
        .inner
        .threads
        .iter()
        .map(|t| to_cpuprofile(&t.profile))
        .collect(),
    )
  }

  #[napi(catch_unwind)]
  pub fn to_collapsed(&self) -> Result<String> {
    Ok(report_to_collapsed(&self.inner))
  }

  #[napi(ts_return_type = "Promise<string>")]
  pub fn to_collapsed_async(&self) -> AsyncTask<OffThread<String, String>> {
    let r = self.inner.clone();
    AsyncTask::new(OffThread::new(move || Ok(report_to_collapsed(&r))))
  }

  /// A flame graph SVG of every thread: one tower per thread, its bottom frame naming
  /// the thread; frames are `function (file:line)`, widths are sample counts.
  #[napi(catch_unwind)]
  pub fn to_flamegraph(&self, options: Option<FlamegraphOptions>) -> Result<String> {
    flamegraph(&self.inner, &flamegraph_options(options)?)
  }

  #[napi(ts_return_type = "Promise<string>")]
  pub fn to_flamegraph_async(
    &self,
    options: Option<FlamegraphOptions>,
  ) -> Result<AsyncTask<OffThread<String, String>>> {
    let o = flamegraph_options(options)?;
    let r = self.inner.clone();
    Ok(AsyncTask::new(OffThread::new(move || flamegraph(&r, &o))))
  }

  #[napi(catch_unwind)]
  pub fn to_pprof(&self, options: Option<PprofOptions>) -> Result<Buffer> {
    let o = pprof_options(options)?;
    Ok(report_to_pprof(&self.inner, &o).into())
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn to_pprof_async(
    &self,
    options: Option<PprofOptions>,
  ) -> Result<AsyncTask<OffThread<Vec<u8>, Buffer>>> {
    let o = pprof_options(options)?;
    let r = self.inner.clone();
    Ok(AsyncTask::new(OffThread::new(move || {
      Ok(report_to_pprof(&r, &o))
    })))
  }
}
