use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer, Float64Array};
use napi::Result;
use napi_derive::napi;

use super::guard::invalid_arg;
use super::profile::{pprof_options, CpuProfile, PprofOptions};
use super::task::OffThread;
use crate::core::encode::otlp::{period_to_otlp, OtlpOptions as CoreOtlpOptions};
use crate::core::encode::pprof::period_to_pprof;
use crate::core::period::{Attribution, Period as CorePeriod, PeriodThread, TraceLink};
use crate::core::window::Spans;

/// A string attribute or label.
#[napi(object)]
pub struct Attribute {
  pub key: String,
  pub value: String,
}

/// Options for the OTLP profiles encoding.
#[napi(object)]
pub struct OtlpOptions {
  /// Resource attributes, such as `service.name`.
  pub resource: Vec<Attribute>,
  pub scope_name: String,
  pub scope_version: String,
  /// Wall-clock start of the period, ns since the Unix epoch.
  pub time_unix_nano: BigInt,
  pub duration_nano: f64,
  /// The sampling interval in ns.
  pub period_nanos: f64,
  /// 16 bytes.
  pub profile_id: Option<Buffer>,
}

fn nonneg(what: &str, v: f64) -> Result<f64> {
  if v.is_finite() && v >= 0.0 {
    Ok(v)
  } else {
    Err(invalid_arg(format!(
      "{what} must be a finite number >= 0, got {v}"
    )))
  }
}

/// One period of continuous profiling: each thread's profile over the period and the
/// requests its samples worked for, encoded for a backend.
#[napi]
pub struct Period {
  inner: Arc<CorePeriod>,
}

#[napi]
impl Period {
  /// `intervalUs`: the period's sampling interval; finer stretches are read at it (a
  /// backend counts samples at the period's rate). Default 0: every sample as it is.
  #[napi(constructor)]
  pub fn new(interval_us: Option<f64>) -> Result<Self> {
    let interval_us = match interval_us {
      None => 0,
      Some(v) if v.is_finite() && v >= 0.0 => v as i64,
      Some(v) => {
        return Err(invalid_arg(format!(
          "intervalUs must be a finite number >= 0, got {v}"
        )))
      }
    };
    Ok(Period {
      inner: Arc::new(CorePeriod {
        threads: Vec::new(),
        interval_us,
      }),
    })
  }

  /// Add one thread's profile of the period. Thread ids must be unique.
  #[napi(catch_unwind)]
  pub fn add_thread(&mut self, profile: &CpuProfile, thread_id: i64, name: String) -> Result<()> {
    let p = Arc::make_mut(&mut self.inner);
    if p.threads.iter().any(|t| t.thread_id == thread_id) {
      return Err(invalid_arg(format!(
        "thread id {thread_id} appears twice in a period"
      )));
    }
    p.threads.push(PeriodThread {
      thread_id,
      name,
      profile: profile.inner.clone(),
      attributions: Vec::new(),
    });
    Ok(())
  }

  /// The samples of thread `threadId` inside `spans` (flat `[start, end, ...]` µs) worked
  /// for a request with these labels. Where requests overlap, the one added last wins.
  #[napi(catch_unwind)]
  pub fn attribute(
    &mut self,
    thread_id: i64,
    spans: Float64Array,
    labels: Vec<Attribute>,
    trace_id: Option<Buffer>,
    span_id: Option<Buffer>,
  ) -> Result<()> {
    let spans =
      Spans::from_flat(&spans).map_err(|e| invalid_arg(format!("Period.attribute: {e}")))?;
    let link = match (trace_id, span_id) {
      (Some(t), Some(s)) => Some(TraceLink {
        trace_id: t[..]
          .try_into()
          .map_err(|_| invalid_arg("traceId must be 16 bytes"))?,
        span_id: s[..]
          .try_into()
          .map_err(|_| invalid_arg("spanId must be 8 bytes"))?,
      }),
      (None, None) => None,
      _ => return Err(invalid_arg("traceId and spanId go together")),
    };
    let p = Arc::make_mut(&mut self.inner);
    let t = p
      .threads
      .iter_mut()
      .find(|t| t.thread_id == thread_id)
      .ok_or_else(|| invalid_arg(format!("no thread with id {thread_id} in this period")))?;
    t.attributions.push(Attribution {
      labels: labels.into_iter().map(|a| (a.key, a.value)).collect(),
      link,
      spans,
    });
    Ok(())
  }

  /// Samples in the period, all threads.
  #[napi(getter)]
  pub fn sample_count(&self) -> u32 {
    self
      .inner
      .threads
      .iter()
      .map(|t| t.profile.samples.len() as u32)
      .sum()
  }

  /// The gzipped pprof, encoded and compressed on the libuv pool.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn to_pprof_async(
    &self,
    options: Option<PprofOptions>,
  ) -> Result<AsyncTask<OffThread<Vec<u8>, Buffer>>> {
    let o = pprof_options(options)?;
    let p = self.inner.clone();
    Ok(AsyncTask::new(OffThread::new(move || {
      Ok(period_to_pprof(&p, &o))
    })))
  }

  /// An OTLP `ExportProfilesServiceRequest` (opentelemetry-proto v1.11.0), encoded on the
  /// libuv pool.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn to_otlp_async(
    &self,
    options: OtlpOptions,
  ) -> Result<AsyncTask<OffThread<Vec<u8>, Buffer>>> {
    let (negative, time, lossless) = options.time_unix_nano.get_u64();
    if negative || !lossless {
      return Err(invalid_arg("timeUnixNano must be a bigint in 0..2^64"));
    }
    let profile_id = options.profile_id.map(|b| b.to_vec()).unwrap_or_default();
    if !profile_id.is_empty() && profile_id.len() != 16 {
      return Err(invalid_arg("profileId must be 16 bytes"));
    }
    let o = CoreOtlpOptions {
      resource: options
        .resource
        .into_iter()
        .map(|a| (a.key, a.value))
        .collect(),
      scope_name: options.scope_name,
      scope_version: options.scope_version,
      time_unix_nano: time,
      duration_nano: nonneg("durationNano", options.duration_nano)? as u64,
      period_nanos: nonneg("periodNanos", options.period_nanos)? as i64,
      profile_id,
    };
    let p = self.inner.clone();
    Ok(AsyncTask::new(OffThread::new(move || {
      Ok(period_to_otlp(&p, &o))
    })))
  }
}
