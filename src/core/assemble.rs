//! One thread's share of a profiling session, assembled from its sampler chunks.
//!
//! A thread's sampler is cut into chunks (see `concat`); each session keeps the part of
//! every chunk inside its window and, for a worker shared by several sessions, inside
//! the spans when the worker ran that session's tasks. Cutting and joining live here so
//! that `cargo test` covers them; the binding only converts arguments.

use super::profile::Profile;
use super::window::Spans;

/// The window (µs, inclusive) and optional spans one thread's chunks are cut to.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembly {
  pub t0: i64,
  pub t1: i64,
  pub spans: Option<Spans>,
}

impl Assembly {
  pub fn new(t0: i64, t1: i64, spans: Option<Spans>) -> Assembly {
    Assembly { t0, t1, spans }
  }

  /// One chunk cut to the window and spans.
  pub fn cut(&self, p: &Profile) -> Profile {
    match &self.spans {
      Some(s) => p.window_spans(self.t0, self.t1, s),
      None => p.window(self.t0, self.t1),
    }
  }

  /// Every chunk cut, then joined in order. `None` when there is no chunk.
  pub fn assemble(&self, chunks: &[&Profile]) -> Option<Profile> {
    let parts: Vec<Profile> = chunks.iter().map(|p| self.cut(p)).collect();
    let refs: Vec<&Profile> = parts.iter().collect();
    Profile::concat(&refs)
  }
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
    assert_eq!(p.timestamps, vec![500, 1100]);
    assert_eq!(stacks(&p), vec!["a;b", "c"]);
    assert!(Assembly::new(0, 1, None).assemble(&[]).is_none());
  }
}
