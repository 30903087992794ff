//! gzip-compressed `profile.proto`, as `go tool pprof` and pprof-format read it.
//!
//! Samples are aggregated per (thread, leaf node): V8 already merges identical stacks into
//! one tree node, so this is lossless and makes a 100k-sample profile a few thousand
//! pprof samples.

use std::collections::HashMap;
use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use pprof::protos::{
  Function, Label, Line, Location, Message, Profile as PProfile, Sample, ValueType,
};

use super::function_name;
use crate::core::assemble::{OTHER_WORK, UNSAMPLED};
use crate::core::period::Period;
use crate::core::profile::Profile;
use crate::core::report::{Report, ThreadProfile};

#[derive(Debug, Clone, Default)]
pub struct PprofOptions {
  /// Wall-clock time (ns since the Unix epoch) at which the profile started. V8 times are
  /// monotonic, so only the caller can say when that was.
  pub time_nanos: i64,
  /// The sampling interval; when unknown, the mean gap between samples is used.
  pub period_nanos: Option<i64>,
}

#[derive(Default)]
struct Builder {
  strings: Vec<String>,
  string_ids: HashMap<String, i64>,
  functions: Vec<Function>,
  function_ids: HashMap<(i64, i64, i64), u64>,
  locations: Vec<Location>,
  location_ids: HashMap<(u64, i64), u64>,
  samples: Vec<Sample>,
}

impl Builder {
  /// The gzipped profile of what was built, under `head` (the fields that differ by kind).
  fn finish(self, head: PProfile) -> Vec<u8> {
    let profile = PProfile {
      sample: self.samples,
      location: self.locations,
      function: self.functions,
      string_table: self.strings,
      ..head
    };
    gzip(&profile.encode_to_vec())
  }

  fn new() -> Builder {
    let mut b = Builder::default();
    b.string(""); // index 0 must be the empty string
    b
  }

  fn string(&mut self, s: &str) -> i64 {
    if let Some(&id) = self.string_ids.get(s) {
      return id;
    }
    let id = self.strings.len() as i64;
    self.strings.push(s.to_string());
    self.string_ids.insert(s.to_string(), id);
    id
  }

  fn value_type(&mut self, ty: &str, unit: &str) -> ValueType {
    ValueType {
      ty: self.string(ty),
      unit: self.string(unit),
    }
  }

  /// pprof lines are 1-based; V8's are 0-based, and -1 for native frames (line 0: unknown).
  fn location(&mut self, p: &Profile, node: usize) -> u64 {
    let cf = &p.nodes[node].call_frame;
    let line = (cf.line_number + 1).max(0);
    let name = self.string(function_name(cf));
    let file = self.string(&cf.url);
    let next_fn = self.functions.len() as u64 + 1;
    let function_id = *self
      .function_ids
      .entry((name, file, line))
      .or_insert(next_fn);
    if function_id == next_fn {
      self.functions.push(Function {
        id: function_id,
        name,
        system_name: name,
        filename: file,
        start_line: line,
      });
    }
    let next_loc = self.locations.len() as u64 + 1;
    let location_id = *self
      .location_ids
      .entry((function_id, line))
      .or_insert(next_loc);
    if location_id == next_loc {
      self.locations.push(Location {
        id: location_id,
        line: vec![Line { function_id, line }],
        ..Location::default()
      });
    }
    location_id
  }

  /// The node's stack as location ids, leaf first as pprof wants; `cache` is per profile.
  fn stack(&mut self, p: &Profile, node: usize, cache: &mut [Option<u64>]) -> Vec<u64> {
    let mut location_id = Vec::new();
    for i in p.stack(node).into_iter().rev() {
      let id = match cache[i] {
        Some(id) => id,
        None => {
          let id = self.location(p, i);
          cache[i] = Some(id);
          id
        }
      };
      location_id.push(id);
    }
    location_id
  }

  fn add_thread(&mut self, t: &ThreadProfile, profile_id: &str, with_cpu: bool) {
    let p = &t.profile;
    let mut count = vec![0i64; p.nodes.len()];
    let mut wall_us = vec![0i64; p.nodes.len()];
    let mut charged = vec![false; p.nodes.len()];
    for (&s, d) in p.samples.iter().zip(p.sample_durations()) {
      // Time the thread spent on other work is not this profile's: no sample. A gap
      // inside the profile's time is its time, but no sample was taken there.
      if p.is_marker(s, OTHER_WORK) {
        continue;
      }
      if !p.is_marker(s, UNSAMPLED) {
        count[s] += 1;
      }
      wall_us[s] += d;
      charged[s] = true;
    }
    let cpu = if with_cpu {
      apportion_cpu(p, &wall_us, t.cpu_time_ns.unwrap_or(0))
    } else {
      Vec::new()
    };

    let mut labels = vec![Label {
      key: self.string("thread_id"),
      num: t.thread_id,
      ..Label::default()
    }];
    labels.push(Label {
      key: self.string("thread_name"),
      str: self.string(&t.name),
      ..Label::default()
    });
    if !profile_id.is_empty() {
      labels.push(Label {
        key: self.string("profile_id"),
        str: self.string(profile_id),
        ..Label::default()
      });
    }

    let mut loc_of_node: Vec<Option<u64>> = vec![None; p.nodes.len()];
    for node in 0..p.nodes.len() {
      if !charged[node] {
        continue;
      }
      let location_id = self.stack(p, node, &mut loc_of_node);
      let mut value = vec![count[node], wall_us[node].saturating_mul(1000)];
      if with_cpu {
        value.push(cpu[node]);
      }
      self.samples.push(Sample {
        location_id,
        value,
        label: labels.clone(),
      });
    }
  }
}

/// Spread a thread's measured CPU time over its non-idle samples in proportion to the wall
/// time each stands for. Cumulative rounding makes the parts add up to the total exactly.
fn apportion_cpu(p: &Profile, wall_us: &[i64], cpu_total_ns: u64) -> Vec<i64> {
  let busy: Vec<bool> = p
    .nodes
    .iter()
    .map(|n| &*n.call_frame.function_name != "(idle)")
    .collect();
  let total: u128 = (0..p.nodes.len())
    .filter(|&i| busy[i])
    .map(|i| wall_us[i].max(0) as u128)
    .sum();
  let mut out = vec![0i64; p.nodes.len()];
  if total == 0 {
    return out;
  }
  let (mut cum, mut given) = (0u128, 0u128);
  for i in 0..p.nodes.len() {
    if busy[i] {
      cum += wall_us[i].max(0) as u128;
      let upto = cpu_total_ns as u128 * cum / total;
      out[i] = (upto - given).min(i64::MAX as u128) as i64;
      given = upto;
    }
  }
  out
}

/// Encode every thread of `r` into one gzipped pprof. Sample values are
/// `samples/count`, `wall/nanoseconds` and, when every thread's CPU time is known,
/// `cpu/nanoseconds`. Each sample carries `thread_id`, `thread_name` and `profile_id` labels.
pub fn report_to_pprof(r: &Report, opts: &PprofOptions) -> Vec<u8> {
  let with_cpu = !r.threads.is_empty() && r.threads.iter().all(|t| t.cpu_time_ns.is_some());
  let mut b = Builder::new();
  let mut sample_type = vec![
    b.value_type("samples", "count"),
    b.value_type("wall", "nanoseconds"),
  ];
  if with_cpu {
    sample_type.push(b.value_type("cpu", "nanoseconds"));
  }
  let period_type = b.value_type("wall", "nanoseconds");
  let default_sample_type = b.string("wall");
  for t in &r.threads {
    b.add_thread(t, &r.profile_id, with_cpu);
  }

  let start = r
    .threads
    .iter()
    .map(|t| t.profile.start_time)
    .min()
    .unwrap_or(0);
  let end = r
    .threads
    .iter()
    .map(|t| t.profile.end_time)
    .max()
    .unwrap_or(0);
  let (samples, span_us): (usize, i64) = r.threads.iter().fold((0, 0), |(n, s), t| {
    let span = match (t.profile.timestamps.first(), t.profile.timestamps.last()) {
      (Some(a), Some(z)) => (z - a).max(0),
      _ => 0,
    };
    (n + t.profile.samples.len(), s + span)
  });
  let period = opts.period_nanos.unwrap_or(if samples > 1 {
    span_us.saturating_mul(1000) / samples as i64
  } else {
    0
  });

  b.finish(PProfile {
    sample_type,
    time_nanos: opts.time_nanos,
    duration_nanos: (end - start).saturating_mul(1000),
    period_type: Some(period_type),
    period,
    default_sample_type,
    ..PProfile::default()
  })
}

/// One period of continuous profiling: values `samples/count` and `wall/nanoseconds`;
/// every sample carries `thread_id` and `thread_name`, and the samples of a request its
/// labels and, where a trace span was active, `trace_id` and `span_id` (hex, as
/// Pyroscope's span profiles read them).
pub fn period_to_pprof(period: &Period, opts: &PprofOptions) -> Vec<u8> {
  let mut b = Builder::new();
  let sample_type = vec![
    b.value_type("samples", "count"),
    b.value_type("wall", "nanoseconds"),
  ];
  let period_type = b.value_type("wall", "nanoseconds");
  let default_sample_type = b.string("samples");
  for t in &period.threads {
    let p = &t.profile;
    let base = vec![
      Label {
        key: b.string("thread_id"),
        num: t.thread_id,
        ..Label::default()
      },
      Label {
        key: b.string("thread_name"),
        str: b.string(&t.name),
        ..Label::default()
      },
    ];
    let per_request: Vec<Vec<Label>> = t
      .attributions
      .iter()
      .map(|a| {
        let mut labels = base.clone();
        let str_label = |b: &mut Builder, k: &str, v: &str| Label {
          key: b.string(k),
          str: b.string(v),
          ..Label::default()
        };
        for (k, v) in &a.labels {
          labels.push(str_label(&mut b, k, v));
        }
        if let Some(l) = &a.link {
          labels.push(str_label(&mut b, "trace_id", &l.trace_hex()));
          labels.push(str_label(&mut b, "span_id", &l.span_hex()));
        }
        labels
      })
      .collect();
    let mut cache = vec![None; p.nodes.len()];
    for x in t.tally(period.interval_us) {
      let location_id = b.stack(p, x.node, &mut cache);
      let label = match x.attribution {
        Some(k) => per_request[k].clone(),
        None => base.clone(),
      };
      b.samples.push(Sample {
        location_id,
        value: vec![x.count, x.wall_us.saturating_mul(1000)],
        label,
      });
    }
  }
  let (start, end) = (period.start_time(), period.end_time());
  b.finish(PProfile {
    sample_type,
    time_nanos: opts.time_nanos,
    duration_nanos: (end - start).saturating_mul(1000),
    period_type: Some(period_type),
    period: opts.period_nanos.unwrap_or(0),
    default_sample_type,
    ..PProfile::default()
  })
}

/// A single profile as a one-thread report (thread 0, unnamed, no CPU time).
pub fn profile_to_pprof(p: &std::sync::Arc<Profile>, opts: &PprofOptions) -> Vec<u8> {
  let r = Report {
    profile_id: String::new(),
    threads: vec![ThreadProfile {
      thread_id: 0,
      name: String::new(),
      profile: p.clone(),
      cpu_time_ns: None,
    }],
  };
  report_to_pprof(&r, opts)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
  let mut enc = GzEncoder::new(
    Vec::with_capacity(bytes.len() / 4 + 64),
    Compression::fast(),
  );
  // Writing into a Vec cannot fail.
  enc.write_all(bytes).expect("gzip into memory");
  enc.finish().expect("gzip into memory")
}

#[cfg(test)]
mod tests {
  use super::*;
  use flate2::read::GzDecoder;
  use std::io::Read;

  fn decode(gz: &[u8]) -> PProfile {
    let mut raw = Vec::new();
    GzDecoder::new(gz).read_to_end(&mut raw).unwrap();
    PProfile::decode(raw.as_slice()).unwrap()
  }

  fn thread(id: i64, cpu: Option<u64>) -> ThreadProfile {
    let p = crate::core::testing::ProfileBuilder::new(1000, 2000)
      .at(1100, "a@a.js:0")
      .at(1200, "a@a.js:0;b@a.js:4")
      .at(1500, "a@a.js:0;b@a.js:4")
      .at(1600, "(idle)")
      .build();
    ThreadProfile {
      thread_id: id,
      name: format!("t{id}"),
      profile: std::sync::Arc::new(p),
      cpu_time_ns: cpu,
    }
  }

  fn s(p: &PProfile, i: i64) -> &str {
    &p.string_table[i as usize]
  }

  #[test]
  fn encodes_counts_wall_and_labels() {
    let r = Report::merge("req-1", vec![thread(0, None), thread(3, None)]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    let types: Vec<_> = p
      .sample_type
      .iter()
      .map(|t| (s(&p, t.ty), s(&p, t.unit)))
      .collect();
    assert_eq!(types, vec![("samples", "count"), ("wall", "nanoseconds")]);
    let count: i64 = p.sample.iter().map(|x| x.value[0]).sum();
    let wall: i64 = p.sample.iter().map(|x| x.value[1]).sum();
    assert_eq!(count, 8);
    // Each sample lasts until the next, the last until the end: 100 + 300 + 100 + 400 µs.
    assert_eq!(wall, 2 * 900_000);
    let b = p.sample.iter().find(|x| x.value[0] == 2).unwrap();
    let leaf = &p.location[(b.location_id[0] - 1) as usize];
    let f = &p.function[(leaf.line[0].function_id - 1) as usize];
    assert_eq!(
      (s(&p, f.name), s(&p, f.filename), f.start_line),
      ("b", "a.js", 5)
    );
    assert_eq!(b.location_id.len(), 2);
    let labels: Vec<_> = b.label.iter().map(|l| s(&p, l.key)).collect();
    assert_eq!(labels, vec!["thread_id", "thread_name", "profile_id"]);
    // Same code in two threads shares functions and locations.
    assert_eq!(p.function.len(), 3);
    assert_eq!(p.duration_nanos, 1_000_000);
  }

  #[test]
  fn other_work_is_no_sample_and_unsampled_time_is_wall_without_a_count() {
    use crate::core::assemble::Assembly;
    use crate::core::testing::ProfileBuilder;
    use crate::core::window::Spans;
    let p = ProfileBuilder::new(0, 5000)
      .every(0, 1000, 5, "task@app.js")
      .build();
    let spans = Spans::from_flat(&[500.0, 2499.0]).unwrap();
    let a = Assembly::new(0, 5000, Some(spans)).assemble(&[&p]).unwrap();
    let t = ThreadProfile {
      thread_id: 1,
      name: "w".into(),
      profile: std::sync::Arc::new(a),
      cpu_time_ns: None,
    };
    let r = Report::merge("", vec![t]).unwrap();
    let pp = decode(&report_to_pprof(&r, &PprofOptions::default()));
    let by_leaf = |name: &str| {
      pp.sample
        .iter()
        .find(|x| {
          let loc = &pp.location[(x.location_id[0] - 1) as usize];
          s(
            &pp,
            pp.function[(loc.line[0].function_id - 1) as usize].name,
          ) == name
        })
        .map(|x| (x.value[0], x.value[1]))
    };
    // The span [500, 2500): 500 µs before its first sample, then two samples.
    assert_eq!(by_leaf("(unsampled)"), Some((0, 500_000)));
    assert_eq!(by_leaf("task"), Some((2, 1_500_000)));
    assert_eq!(by_leaf("(other work)"), None);
  }

  #[test]
  fn cpu_time_is_spread_over_busy_samples_exactly() {
    let r = Report::merge("", vec![thread(0, Some(1_000_001))]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    assert_eq!(p.sample_type.len(), 3);
    let cpu: i64 = p.sample.iter().map(|x| x.value[2]).sum();
    assert_eq!(cpu, 1_000_001);
    let idle = p
      .sample
      .iter()
      .find(|x| {
        let loc = &p.location[(x.location_id[0] - 1) as usize];
        s(&p, p.function[(loc.line[0].function_id - 1) as usize].name) == "(idle)"
      })
      .unwrap();
    assert_eq!(idle.value[2], 0);
  }

  #[test]
  fn period_labels_each_request_once() {
    use crate::core::period::tests::{request, thread};
    use crate::core::period::TraceLink;
    let mut t = thread();
    let mut r = request("GET /a", &[1150.0, 1550.0]);
    r.link = Some(TraceLink {
      trace_id: [1; 16],
      span_id: [2; 8],
    });
    t.attributions = vec![r];
    let period = Period {
      threads: vec![t],
      interval_us: 0,
    };
    let p = decode(&period_to_pprof(&period, &PprofOptions::default()));
    let count: i64 = p.sample.iter().map(|x| x.value[0]).sum();
    assert_eq!(count, 4);
    let label = |x: &Sample, k: &str| {
      x.label
        .iter()
        .find(|l| s(&p, l.key) == k)
        .map(|l| s(&p, l.str).to_string())
    };
    let of_request: i64 = p
      .sample
      .iter()
      .filter(|x| label(x, "profile_name").as_deref() == Some("GET /a"))
      .inspect(|x| assert_eq!(label(x, "span_id").unwrap(), "0202020202020202"))
      .map(|x| x.value[0])
      .sum();
    assert_eq!(of_request, 2);
    assert!(p
      .sample
      .iter()
      .all(|x| label(x, "thread_name").as_deref() == Some("w")));
  }

  #[test]
  fn cpu_column_only_when_every_thread_has_it() {
    let r = Report::merge("", vec![thread(0, Some(5)), thread(1, None)]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    assert_eq!(p.sample_type.len(), 2);
  }

  #[test]
  fn labels_carry_the_thread_and_the_profile() {
    let r = Report::merge("req-1", vec![thread(3, None)]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    assert_eq!(s(&p, 0), "");
    for x in &p.sample {
      let by_key: Vec<_> = x
        .label
        .iter()
        .map(|l| (s(&p, l.key), l.num, s(&p, l.str)))
        .collect();
      assert_eq!(
        by_key,
        vec![
          ("thread_id", 3, ""),
          ("thread_name", 0, "t3"),
          ("profile_id", 0, "req-1")
        ]
      );
    }
    let r = Report::merge("", vec![thread(3, None)]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    assert!(p.sample.iter().all(|x| x.label.len() == 2));
  }

  #[test]
  fn period_time_and_types_of_the_profile() {
    let r = Report::merge("", vec![thread(0, None), thread(1, None)]).unwrap();
    // Each thread's samples span 1100..1600 µs: 2 × 500 µs over 8 samples.
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    assert_eq!(p.period, 125_000);
    assert_eq!(p.time_nanos, 0);
    let pt = p.period_type.as_ref().unwrap();
    assert_eq!((s(&p, pt.ty), s(&p, pt.unit)), ("wall", "nanoseconds"));
    assert_eq!(s(&p, p.default_sample_type), "wall");
    let opts = PprofOptions {
      time_nanos: 1_700_000_000_000_000_000,
      period_nanos: Some(7),
    };
    let p = decode(&report_to_pprof(&r, &opts));
    assert_eq!((p.period, p.time_nanos), (7, 1_700_000_000_000_000_000));
  }

  #[test]
  fn one_location_per_function_and_line_with_native_frames_at_line_0() {
    let r = Report::merge("", vec![thread(0, None), thread(1, None)]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    let lines: Vec<_> = p
      .location
      .iter()
      .map(|l| {
        let f = &p.function[(l.line[0].function_id - 1) as usize];
        (s(&p, f.name), l.line[0].line, l.id)
      })
      .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().any(|l| l.0 == "a" && l.1 == 1));
    assert!(lines.iter().any(|l| l.0 == "b" && l.1 == 5));
    assert!(lines.iter().any(|l| l.0 == "(idle)" && l.1 == 0));
    // Ids are 1-based positions.
    for (i, l) in p.location.iter().enumerate() {
      assert_eq!(l.id, i as u64 + 1);
    }
    for (i, f) in p.function.iter().enumerate() {
      assert_eq!(f.id, i as u64 + 1);
    }
    // 2 threads × 3 sampled leaves (a, b, idle).
    assert_eq!(p.sample.len(), 6);
  }

  #[test]
  fn a_single_profile_is_thread_0_without_a_profile_label() {
    let t = thread(0, None);
    let p = decode(&profile_to_pprof(&t.profile, &PprofOptions::default()));
    assert_eq!(p.sample_type.len(), 2);
    let count: i64 = p.sample.iter().map(|x| x.value[0]).sum();
    assert_eq!(count, 4);
    for x in &p.sample {
      assert_eq!(x.label.len(), 2);
      assert_eq!((s(&p, x.label[0].key), x.label[0].num), ("thread_id", 0));
    }
  }

  #[test]
  fn cpu_time_follows_wall_time_per_sample() {
    // Each sample lasts until the next: a 100 µs, b 400 µs (300 + 100), idle 400 µs to
    // the end; 1000 ns of CPU splits 200 / 800 over the busy ones.
    let r = Report::merge("", vec![thread(0, Some(1000))]).unwrap();
    let p = decode(&report_to_pprof(&r, &PprofOptions::default()));
    let mut by_leaf: Vec<_> = p
      .sample
      .iter()
      .map(|x| {
        let loc = &p.location[(x.location_id[0] - 1) as usize];
        let f = &p.function[(loc.line[0].function_id - 1) as usize];
        (s(&p, f.name).to_string(), x.value[1], x.value[2])
      })
      .collect();
    by_leaf.sort();
    assert_eq!(
      by_leaf,
      vec![
        ("(idle)".to_string(), 400_000, 0),
        ("a".to_string(), 100_000, 200),
        ("b".to_string(), 400_000, 800)
      ]
    );
  }
}
