//! One period of continuous profiling: every thread's profile over the period, and the
//! requests its samples worked for.
//!
//! A request is known by the time spans during which a thread ran its work. A sample
//! counts for the request whose spans hold its timestamp; where several do (a request
//! started inside another's work), the one given last wins, which the caller makes the
//! innermost, so that no sample counts twice.

use std::collections::HashMap;
use std::sync::Arc;

use super::profile::Profile;
use super::window::Spans;

/// The trace span that was active where a request's work started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLink {
  pub trace_id: [u8; 16],
  pub span_id: [u8; 8],
}

impl TraceLink {
  pub fn trace_hex(&self) -> String {
    hex(&self.trace_id)
  }
  pub fn span_hex(&self) -> String {
    hex(&self.span_id)
  }
}

fn hex(bytes: &[u8]) -> String {
  bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One request's share of one thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
  /// String labels every sample of the request carries, in order.
  pub labels: Vec<(String, String)>,
  pub link: Option<TraceLink>,
  pub spans: Spans,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeriodThread {
  pub thread_id: i64,
  pub name: String,
  pub profile: Arc<Profile>,
  /// Later entries win where spans overlap.
  pub attributions: Vec<Attribution>,
}

/// Samples of one leaf node that worked for one request (or for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
  pub node: usize,
  /// Index into `attributions`, or None for samples of no request.
  pub attribution: Option<usize>,
  pub count: i64,
  pub wall_us: i64,
}

impl PeriodThread {
  /// Every sample once, grouped by (leaf node, request), in a deterministic order.
  ///
  /// With `interval_us` > 0, the thread is read as a sampler at that interval would have
  /// sampled it: of the samples in each `interval_us` of the timeline, the first is kept
  /// and stands for the wall time of those it replaces. The thread's sampler runs finer
  /// while a request's own profile asks for it, and a backend reads counts at the
  /// period's rate (Pyroscope's `sampleRate`): kept as they are, those stretches would
  /// count several times the time they took.
  pub fn tally(&self, interval_us: i64) -> Vec<Tally> {
    let p = &self.profile;
    let mut by: HashMap<(usize, Option<usize>), (i64, i64)> = HashMap::new();
    let cell = |t: i64| {
      if interval_us > 0 {
        (t - p.start_time).div_euclid(interval_us)
      } else {
        t
      }
    };
    // A sample stands for the time until the next (see Profile::sample_durations), so
    // the samples left out of a cell add their time to the cell's kept one.
    let mut last: Option<(i64, (usize, Option<usize>))> = None;
    for ((&node, &t), d) in p
      .samples
      .iter()
      .zip(p.timestamps.iter())
      .zip(p.sample_durations())
    {
      let c = cell(t);
      if let Some((lc, key)) = last {
        if interval_us > 0 && lc == c {
          if let Some(e) = by.get_mut(&key) {
            e.1 += d;
          }
          continue;
        }
      }
      let a = self.attributions.iter().rposition(|a| a.spans.contains(t));
      let e = by.entry((node, a)).or_insert((0, 0));
      e.0 += 1;
      e.1 += d;
      last = Some((c, (node, a)));
    }
    let mut out: Vec<Tally> = by
      .into_iter()
      .map(|((node, attribution), (count, wall_us))| Tally {
        node,
        attribution,
        count,
        wall_us,
      })
      .collect();
    out.sort_by_key(|t| (t.node, t.attribution));
    out
  }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Period {
  pub threads: Vec<PeriodThread>,
  /// The period's sampling interval (see `PeriodThread::tally`); 0 keeps every sample.
  pub interval_us: i64,
}

impl Period {
  pub fn start_time(&self) -> i64 {
    self
      .threads
      .iter()
      .map(|t| t.profile.start_time)
      .min()
      .unwrap_or(0)
  }

  pub fn end_time(&self) -> i64 {
    self
      .threads
      .iter()
      .map(|t| t.profile.end_time)
      .max()
      .unwrap_or(0)
  }
}

#[cfg(test)]
pub(crate) mod tests {
  use super::*;

  pub(crate) fn thread() -> PeriodThread {
    // Samples at 1100, 1200, 1500, 1600 on nodes a, b, b, (idle).
    let text = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"children":[2,3]},
      {"id":2,"callFrame":{"functionName":"a","scriptId":"1","url":"a.js","lineNumber":0,"columnNumber":0},"children":[4]},
      {"id":3,"callFrame":{"functionName":"(idle)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}},
      {"id":4,"callFrame":{"functionName":"b","scriptId":"1","url":"a.js","lineNumber":4,"columnNumber":2}}
    ],"startTime":1000,"endTime":2000,"samples":[2,4,4,3],"timeDeltas":[100,100,300,100]}"#;
    PeriodThread {
      thread_id: 2,
      name: "w".into(),
      profile: Arc::new(Profile::from_json(text.as_bytes()).unwrap()),
      attributions: Vec::new(),
    }
  }

  pub(crate) fn request(name: &str, spans: &[f64]) -> Attribution {
    Attribution {
      labels: vec![("profile_name".into(), name.into())],
      link: None,
      spans: Spans::from_flat(spans).unwrap(),
    }
  }

  #[test]
  fn every_sample_counts_once_for_the_innermost_request() {
    let mut t = thread();
    t.attributions = vec![
      request("outer", &[1000.0, 1550.0]),
      request("inner", &[1150.0, 1250.0]),
    ];
    let tally = t.tally(0);
    let total: i64 = tally.iter().map(|x| x.count).sum();
    assert_eq!(total, 4);
    let of = |a: Option<usize>| -> i64 {
      tally
        .iter()
        .filter(|x| x.attribution == a)
        .map(|x| x.count)
        .sum()
    };
    assert_eq!((of(Some(0)), of(Some(1)), of(None)), (2, 1, 1));
  }

  #[test]
  fn a_finer_sampler_is_read_at_the_period_interval_with_its_wall_time_kept() {
    // Samples at 1100, 1200, 1500, 1600 (µs); read at 250 µs cells from 1000: cells 0, 0,
    // 2, 2, so the first and the third are kept.
    let t = thread();
    let tally = t.tally(250);
    let count: i64 = tally.iter().map(|x| x.count).sum();
    let wall: i64 = tally.iter().map(|x| x.wall_us).sum();
    let all_wall: i64 = t.tally(0).iter().map(|x| x.wall_us).sum();
    assert_eq!(count, 2);
    assert_eq!(wall, all_wall);
  }

  #[test]
  fn hex_ids() {
    let l = TraceLink {
      trace_id: [0xab; 16],
      span_id: [1, 2, 3, 4, 5, 6, 7, 8],
    };
    assert_eq!(l.span_hex(), "0102030405060708");
    assert_eq!(l.trace_hex().len(), 32);
  }
}
