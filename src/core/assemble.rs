//! One thread's share of a profiling session, assembled from its sampler chunks.
//!
//! A thread's sampler is cut into chunks (see `concat`); each session keeps the part of
//! every chunk inside its window and, for a worker shared by several sessions, inside
//! the spans when the worker ran that session's tasks. Cutting and joining live here so
//! that `cargo test` covers them; the binding only converts arguments.
//!
//! Time, not only samples, is what the result must get right. A sample stands for the
//! time from its timestamp to the next sample (as DevTools and speedscope read a
//! `.cpuprofile`), but never past the end of its chunk, its span, or `cap_us`: so the
//! wait behind another task, a cut, or a restart of V8's profiler is never one sample's
//! duration. Each stretch of the window is then exactly one of:
//! - a sample's own time, when the sample was taken inside the span it lasts into;
//! - `(unsampled)`: inside a span and a chunk but covered by no sample taken there (the
//!   start of a span before its first sample, a task shorter than the interval, a thread
//!   the OS did not run);
//! - `(profiled-worker)`: inside a span where no chunk was being sampled (the runtime
//!   starting or stopping the sampler, a cut's restart): our own work;
//! - `(other work)`: outside the spans (the thread worked for someone else, or idled).
//!
//! The markers are samples at top-level nodes of their own, so the durations a viewer
//! computes add up to the window; encoders leave `(other work)` out of the work.

use super::own::{OwnCode, OWN_FRAME};
use super::profile::{CallFrame, Node, Profile};
use super::window::Spans;

pub const OTHER_WORK: &str = "(other work)";
pub const UNSAMPLED: &str = "(unsampled)";

/// The window (µs, inclusive) and optional spans one thread's chunks are cut to.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembly {
  pub t0: i64,
  pub t1: i64,
  pub spans: Option<Spans>,
  /// The most time one sample may stand for, µs (a few sampling intervals).
  pub cap_us: Option<i64>,
  pub own: OwnCode,
}

/// What one stretch of the thread's time is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charge {
  Sample(usize),
  Unsampled,
  Own,
  Other,
}

impl Assembly {
  pub fn new(t0: i64, t1: i64, spans: Option<Spans>) -> Assembly {
    Assembly {
      t0,
      t1,
      spans,
      cap_us: None,
      own: OwnCode::default(),
    }
  }

  pub fn with_cap(mut self, cap_us: Option<i64>) -> Assembly {
    self.cap_us = cap_us.filter(|&c| c > 0);
    self
  }

  pub fn with_own(mut self, own: OwnCode) -> Assembly {
    self.own = own;
    self
  }

  /// One chunk cut to the window and spans, samples only (no time markers).
  pub fn cut(&self, p: &Profile) -> Profile {
    match &self.spans {
      Some(s) => p.window_spans(self.t0, self.t1, s),
      None => p.window(self.t0, self.t1),
    }
  }

  /// The thread's share: every chunk's own work named, their trees joined, and the
  /// window laid out as samples and markers (see the module doc). `None` without chunks.
  pub fn assemble(&self, chunks: &[&Profile]) -> Option<Profile> {
    let named: Vec<Profile> = chunks.iter().map(|p| p.own_work_named(&self.own)).collect();
    // Each sample's end, before the chunks' samples are joined into one list.
    let mut ends: Vec<i64> = named.iter().flat_map(|p| self.sample_ends(p)).collect();
    let chunk_ranges: Vec<(i64, i64)> = named.iter().map(|p| (p.start_time, p.end_time)).collect();
    let refs: Vec<&Profile> = named.iter().collect();
    let joined = Profile::concat(&refs)?;
    // A chunk's end can pass the next chunk's first sample (chunks tile by samples, not
    // by their bounds): no sample lasts past the next one.
    for k in 1..ends.len() {
      let next = joined.timestamps[k];
      if next >= joined.timestamps[k - 1] {
        ends[k - 1] = ends[k - 1].min(next);
      }
    }
    // The thread's time: while it was sampled, and while it worked for the profile (a
    // worker's runtime joins a profile a little before its sampler starts).
    let (mut first, mut last) = (joined.start_time, joined.end_time);
    if let Some(&(s, _)) = self.spans.as_ref().and_then(|s| s.pairs().first()) {
      first = first.min(s);
    }
    if let Some(&(_, e)) = self.spans.as_ref().and_then(|s| s.pairs().last()) {
      last = last.max(e);
    }
    let from = self.t0.max(first);
    let to = self.t1.min(last);
    if from > to {
      let mut empty = joined.clone();
      empty.samples.clear();
      empty.timestamps.clear();
      let at = self.t0.clamp(joined.start_time, joined.end_time);
      empty.start_time = at;
      empty.end_time = at;
      return Some(empty.pruned(false));
    }
    let stretches = self.lay_out(&joined, &ends, &chunk_ranges, from, to);
    Some(with_stretches(joined, &stretches, from, to))
  }

  /// When each sample of one chunk stops standing for the thread's time.
  fn sample_ends(&self, p: &Profile) -> Vec<i64> {
    let n = p.timestamps.len();
    (0..n)
      .map(|k| {
        let t = p.timestamps[k];
        let next = if k + 1 < n {
          p.timestamps[k + 1]
        } else {
          p.end_time
        };
        let end = match self.cap_us {
          Some(c) => next.min(t.saturating_add(c)),
          None => next,
        };
        end.min(p.end_time).max(t)
      })
      .collect()
  }

  /// The span (index) holding `t`, or 0 for a thread profiled whole.
  fn span_of(&self, t: i64) -> Option<usize> {
    match &self.spans {
      None => Some(0),
      Some(s) => s.index_of(t),
    }
  }

  /// `[from, to]` as consecutive stretches `(start, charge)`, each lasting until the next.
  /// `chunks`: each chunk's `[start, end)`, in order.
  fn lay_out(
    &self,
    p: &Profile,
    ends: &[i64],
    chunks: &[(i64, i64)],
    from: i64,
    to: i64,
  ) -> Vec<(i64, Charge)> {
    // Sample time first, with the gaps between samples as `None`.
    let mut covered: Vec<(i64, i64, Option<usize>)> = Vec::new();
    let mut cur = from;
    for (k, (&t, &end)) in p.timestamps.iter().zip(ends).enumerate() {
      if t > to {
        break;
      }
      let (a, b) = (t.max(cur), end.min(to));
      if a > cur {
        covered.push((cur, a, None));
        cur = a;
      }
      if a < b {
        covered.push((a, b, Some(k)));
        cur = b;
      } else if t >= from && self.span_of(t).is_some() {
        // A sample that stands for no time (V8 stamped it with its neighbour's time, or it
        // lies at its chunk's end) is still a sample: kept, for 1 µs, so that no two
        // stretches start at the same instant.
        let b = (a + 1).min(to);
        covered.push((a, b, Some(k)));
        cur = b;
      }
    }
    if cur < to {
      covered.push((cur, to, None));
    }
    // A span holds [s, e]; as stretches of time it is [s, e + 1).
    let spans: Vec<(i64, i64)> = match &self.spans {
      Some(s) => s
        .pairs()
        .iter()
        .map(|&(s, e)| (s, e.saturating_add(1)))
        .collect(),
      None => vec![(i64::MIN, i64::MAX)],
    };
    let mut out: Vec<(i64, Charge)> = Vec::new();
    for (a, b, sample) in covered {
      if a == b {
        // The last instant of the window.
        out.extend(sample.map(|k| (a, Charge::Sample(k))));
        continue;
      }
      for (s, e, span) in split(&spans, a, b) {
        // Outside every chunk the sampler was not running: a cut or restart, or the
        // runtime starting or stopping it, all of it our own work.
        let pieces = match sample {
          Some(_) => vec![(s, e, Some(0))],
          None => split(chunks, s, e),
        };
        for (s, _, chunk) in pieces {
          let c = match (span, sample, chunk) {
            (None, _, _) => Charge::Other,
            // A sample taken before the window, or in another span, is not its own.
            (Some(j), Some(k), _)
              if p.timestamps[k] >= from && self.span_of(p.timestamps[k]) == Some(j) =>
            {
              Charge::Sample(k)
            }
            (Some(_), None, None) => Charge::Own,
            (Some(_), _, _) => Charge::Unsampled,
          };
          if out.last().map(|&(_, last)| last) != Some(c) {
            out.push((s, c));
          }
        }
      }
    }
    out
  }
}

/// `[a, b)` in pieces `(start, end, index of the range holding it)`, `None` outside
/// every range. `ranges`: sorted, disjoint `[start, end)` pairs.
fn split(ranges: &[(i64, i64)], a: i64, b: i64) -> Vec<(i64, i64, Option<usize>)> {
  let mut out = Vec::new();
  let mut cur = a;
  let first = ranges.partition_point(|&(_, e)| e <= cur);
  for (j, &(s, e)) in ranges.iter().enumerate().skip(first) {
    if s >= b {
      break;
    }
    if s > cur {
      out.push((cur, s, None));
      cur = s;
    }
    let end = e.min(b);
    if end > cur {
      out.push((cur, end, Some(j)));
      cur = end;
    }
    if cur >= b {
      break;
    }
  }
  if cur < b {
    out.push((cur, b, None));
  }
  out
}

/// The top-level node named `name` (a marker), added if `p` has none.
fn marker_node(p: &mut Profile, name: &str) -> usize {
  let root = p.root;
  let cf = marker(name);
  if let Some(&c) = p.nodes[root]
    .children
    .iter()
    .find(|&&c| p.nodes[c].call_frame == cf)
  {
    return c;
  }
  let at = p.nodes.len();
  let id = p.nodes.iter().map(|n| n.id).max().unwrap_or(0) + 1;
  p.nodes.push(Node {
    id,
    call_frame: cf,
    hit_count: 0,
    children: Vec::new(),
    parent: Some(root),
    position_ticks: Vec::new(),
  });
  p.nodes[root].children.push(at);
  at
}

fn marker(name: &str) -> CallFrame {
  let mut cf = super::own::own_frame();
  cf.function_name = name.into();
  cf
}

/// `p`'s tree with the stretches as its samples: a charged stretch keeps its sample's
/// node, a marker gets a top-level node of its own.
fn with_stretches(mut p: Profile, stretches: &[(i64, Charge)], from: i64, to: i64) -> Profile {
  let whole = stretches
    .iter()
    .all(|(_, c)| matches!(c, Charge::Sample(_)))
    && stretches.len() == p.samples.len();
  let mut samples = Vec::with_capacity(stretches.len());
  let mut timestamps = Vec::with_capacity(stretches.len());
  let (mut unsampled, mut other, mut own) = (None, None, None);
  for &(start, c) in stretches {
    let node = match c {
      Charge::Sample(k) => p.samples[k],
      Charge::Unsampled => *unsampled.get_or_insert_with(|| marker_node(&mut p, UNSAMPLED)),
      Charge::Other => *other.get_or_insert_with(|| marker_node(&mut p, OTHER_WORK)),
      Charge::Own => *own.get_or_insert_with(|| marker_node(&mut p, OWN_FRAME)),
    };
    samples.push(node);
    timestamps.push(start);
  }
  p.samples = samples;
  p.timestamps = timestamps;
  p.start_time = from;
  p.end_time = to;
  p.pruned(whole)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::core::testing::{stacks, ProfileBuilder};

  #[test]
  fn cuts_every_chunk_to_the_spans_and_joins_them_in_order() {
    let a = ProfileBuilder::new(0, 1000)
      .at(100, "a")
      .at(500, "a;b")
      .build();
    let b = ProfileBuilder::new(1000, 2000)
      .at(1100, "c")
      .at(1500, "a;b")
      .build();
    let spans = Spans::from_flat(&[400.0, 1200.0]).unwrap();
    let p = Assembly::new(0, 2000, Some(spans))
      .assemble(&[&a, &b])
      .unwrap();
    // Before the span: other work; the span's start before its first sample and the
    // stretch between the chunks: unsampled; after the span: other work again.
    assert_eq!(p.timestamps, vec![0, 400, 500, 1000, 1100, 1201]);
    assert_eq!(
      stacks(&p),
      vec![
        "(other work)",
        "(unsampled)",
        "a;b",
        "(unsampled)",
        "c",
        "(other work)"
      ]
    );
    assert_eq!((p.start_time, p.end_time), (0, 2000));
    assert!(Assembly::new(0, 1, None).assemble(&[]).is_none());
  }

  fn spans(flat: &[f64]) -> Option<Spans> {
    Some(Spans::from_flat(flat).unwrap())
  }

  #[test]
  fn a_queued_task_is_charged_its_own_time_only() {
    // A 30 ms task of nobody's, then the profile's 3 ms task, on a 1 ms sampler.
    let p = ProfileBuilder::new(0, 40_000)
      .every(0, 1000, 30, "other@app.js")
      .every(31_000, 1000, 3, "task@app.js")
      .every(34_000, 1000, 6, "(idle)")
      .build();
    let a = Assembly::new(0, 40_000, spans(&[30_500.0, 33_500.0])).with_cap(Some(3000));
    let out = a.assemble(&[&p]).unwrap();
    let c = out.charged();
    // [30500, 33501): 500 µs before the first sample, then 1000 + 1000 + 501.
    assert_eq!(c.work_us, 3001);
    assert_eq!(c.unsampled_us, 500);
    assert_eq!(c.work_us + c.other_us, 40_000);
    let d = out.sample_durations();
    let task: Vec<i64> = stacks(&out)
      .iter()
      .zip(&d)
      .filter(|(s, _)| s.as_str() == "task")
      .map(|(_, &d)| d)
      .collect();
    assert_eq!(task, vec![1000, 1000, 501]);
  }

  #[test]
  fn a_stretch_without_samples_is_a_gap_and_the_window_adds_up() {
    // A thread profiled whole; the sampler stopped between 2000 and 9000 (a restart).
    let a = ProfileBuilder::new(500, 5000)
      .every(1000, 500, 3, "f@app.js")
      .build();
    let b = ProfileBuilder::new(9000, 12_000)
      .every(9000, 1000, 3, "g@app.js")
      .build();
    let out = Assembly::new(0, 20_000, None)
      .with_cap(Some(1500))
      .assemble(&[&a, &b])
      .unwrap();
    assert_eq!((out.start_time, out.end_time), (500, 12_000));
    let d = out.sample_durations();
    assert_eq!(d.iter().sum::<i64>(), 12_000 - 500);
    // No sample stands for more than the cap; the first does not reach back to the start.
    let samples: Vec<(String, i64)> = stacks(&out).into_iter().zip(d).collect();
    assert_eq!(
      samples,
      vec![
        ("(unsampled)".into(), 500),
        ("f".into(), 500),
        ("f".into(), 500),
        ("f".into(), 1500),
        ("(unsampled)".into(), 1500),
        // Between the chunks the sampler was restarting: our own work.
        ("(profiled-worker)".into(), 4000),
        ("g".into(), 1000),
        ("g".into(), 1000),
        ("g".into(), 1000),
      ]
    );
    assert_eq!(out.charged().other_us, 0);
  }

  #[test]
  fn a_span_before_the_sampler_started_is_our_own_work() {
    // A worker's runtime joins the profile at 100; its sampler's first chunk starts at 400.
    let p = ProfileBuilder::new(400, 2000)
      .every(400, 500, 3, "f@app.js")
      .build();
    let out = Assembly::new(0, 5000, spans(&[100.0, 2500.0]))
      .with_cap(Some(1000))
      .assemble(&[&p])
      .unwrap();
    assert_eq!((out.start_time, out.end_time), (100, 2500));
    assert_eq!(
      stacks(&out),
      vec!["(profiled-worker)", "f", "f", "f", "(profiled-worker)"]
    );
    let c = out.charged();
    assert_eq!((c.work_us, c.own_us, c.other_us), (2400, 300 + 500, 0));
  }

  #[test]
  fn own_work_is_named_in_the_assembly() {
    let p = ProfileBuilder::new(0, 3000)
      .at(0, "boot@file:///pw/lib/worker/index.js")
      .at(1000, "task@app.js")
      .at(2000, "task@app.js")
      .build();
    let out = Assembly::new(0, 3000, None)
      .with_own(OwnCode::new(vec!["file:///pw/lib/".into()]))
      .assemble(&[&p])
      .unwrap();
    assert_eq!(stacks(&out), vec!["(profiled-worker)", "task", "task"]);
    assert_eq!(out.charged().own_us, 1000);
  }

  #[test]
  fn a_sample_taken_before_the_window_is_not_charged_in_it() {
    let p = ProfileBuilder::new(0, 3000)
      .at(0, "before@app.js")
      .at(1500, "inside@app.js")
      .build();
    let out = Assembly::new(1000, 3000, None).assemble(&[&p]).unwrap();
    assert_eq!(stacks(&out), vec!["(unsampled)", "inside"]);
    assert_eq!(out.sample_durations(), vec![500, 1500]);
  }

  #[test]
  fn samples_of_no_time_are_kept() {
    let p = ProfileBuilder::new(0, 3000)
      .at(1000, "a@app.js")
      .at(1000, "b@app.js")
      .at(2000, "c@app.js")
      .build();
    let out = Assembly::new(0, 3000, spans(&[500.0, 3000.0]))
      .assemble(&[&p])
      .unwrap();
    assert_eq!(
      stacks(&out),
      vec!["(other work)", "(unsampled)", "a", "b", "c"]
    );
    assert_eq!(out.sample_durations(), vec![500, 500, 1, 999, 1000]);
    assert_eq!(out.real_sample_count(), 3);
  }

  #[test]
  fn a_chunk_that_ends_after_the_next_ones_first_sample_does_not_shift_it() {
    let a = ProfileBuilder::new(0, 2000).at(1000, "a@app.js").build();
    let b = ProfileBuilder::new(1500, 3000).at(1600, "b@app.js").build();
    let out = Assembly::new(0, 3000, None).assemble(&[&a, &b]).unwrap();
    assert_eq!(out.timestamps, vec![0, 1000, 1600]);
    assert_eq!(stacks(&out), vec!["(unsampled)", "a", "b"]);
  }

  #[test]
  fn a_window_outside_the_chunks_is_empty() {
    let p = ProfileBuilder::new(0, 1000).at(10, "a").build();
    let out = Assembly::new(5000, 6000, None).assemble(&[&p]).unwrap();
    assert!(out.samples.is_empty());
    assert_eq!(out.nodes.len(), 1);
  }
}
