//! Several threads' profiles of one profiling session, labelled, side by side.

use std::sync::Arc;

use super::profile::Profile;

/// One thread's share of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadProfile {
  /// `worker_threads.threadId` (0 for the main thread).
  pub thread_id: i64,
  pub name: String,
  /// Shared, so merging and windowing reports never copy a whole profile.
  pub profile: Arc<Profile>,
  /// CPU time the thread spent during the profile, if it was measured.
  pub cpu_time_ns: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
  pub profile_id: String,
  pub threads: Vec<ThreadProfile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

impl std::fmt::Display for MergeError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl std::error::Error for MergeError {}

impl Report {
  /// Thread ids identify towers in every encoding, so two threads may not share one.
  /// Threads are ordered by id so that the encodings are deterministic.
  pub fn merge(
    profile_id: impl Into<String>,
    threads: Vec<ThreadProfile>,
  ) -> Result<Report, MergeError> {
    let mut r = Report {
      profile_id: profile_id.into(),
      threads: Vec::with_capacity(threads.len()),
    };
    for t in threads {
      r.add(t)?;
    }
    Ok(r)
  }

  pub fn add(&mut self, t: ThreadProfile) -> Result<(), MergeError> {
    match self
      .threads
      .binary_search_by_key(&t.thread_id, |x| x.thread_id)
    {
      Ok(k) => Err(MergeError(format!(
        "thread id {} appears twice ({:?} and {:?}); each thread may be merged once",
        t.thread_id, self.threads[k].name, t.name
      ))),
      Err(k) => {
        self.threads.insert(k, t);
        Ok(())
      }
    }
  }

  /// Restrict every thread to the samples within `[t0, t1]` µs.
  pub fn window(&self, t0: i64, t1: i64) -> Report {
    Report {
      profile_id: self.profile_id.clone(),
      threads: self
        .threads
        .iter()
        .map(|t| ThreadProfile {
          profile: Arc::new(t.profile.window(t0, t1)),
          ..t.clone()
        })
        .collect(),
    }
  }

  pub fn sample_count(&self) -> usize {
    self.threads.iter().map(|t| t.profile.samples.len()).sum()
  }
}

/// The label a thread gets as the bottom frame of flame graphs.
pub fn thread_label(thread_id: i64, name: &str) -> String {
  if name.is_empty() {
    format!("thread {thread_id}")
  } else {
    format!("{name} (thread {thread_id})")
  }
}

#[cfg(test)]
mod tests {
  use std::sync::Arc;

  use super::*;

  fn thread(id: i64, start: i64, deltas: &str) -> ThreadProfile {
    let n = deltas.split(',').count();
    let samples = vec!["2"; n].join(",");
    let text = format!(
      r#"{{"nodes":[
      {{"id":1,"callFrame":{{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}},"children":[2]}},
      {{"id":2,"callFrame":{{"functionName":"a","scriptId":"1","url":"a.js","lineNumber":0,"columnNumber":0}}}}
    ],"startTime":{start},"endTime":{},"samples":[{samples}],"timeDeltas":[{deltas}]}}"#,
      start + 1000
    );
    ThreadProfile {
      thread_id: id,
      name: format!("t{id}"),
      profile: Arc::new(Profile::from_json(text.as_bytes()).unwrap()),
      cpu_time_ns: Some(7),
    }
  }

  #[test]
  fn a_window_keeps_each_threads_samples_within_it_and_counts_them() {
    let r = Report {
      profile_id: "p".into(),
      threads: vec![thread(0, 0, "100,100,100"), thread(2, 0, "150,150")],
    };
    assert_eq!(r.sample_count(), 5);
    let w = r.window(150, 300);
    assert_eq!(w.profile_id, "p");
    assert_eq!(w.sample_count(), 4);
    assert_eq!(w.threads[0].profile.timestamps, vec![200, 300]);
    assert_eq!(w.threads[1].profile.timestamps, vec![150, 300]);
    assert_eq!((w.threads[1].thread_id, &*w.threads[1].name), (2, "t2"));
    assert_eq!(w.threads[1].cpu_time_ns, Some(7));
    assert_eq!(MergeError("m".into()).to_string(), "m");
  }
}
