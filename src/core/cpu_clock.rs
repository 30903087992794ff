//! CPU time of the calling thread.

/// Nanoseconds of CPU the calling OS thread has used (`CLOCK_THREAD_CPUTIME_ID`).
/// Each Node worker runs JavaScript on its own OS thread, so inside a worker this is
/// that worker's CPU time.
#[cfg(unix)]
pub fn thread_cpu_time_ns() -> Result<u64, String> {
  let mut ts = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
  };
  // SAFETY: clock_gettime writes only into the timespec we own.
  let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
  if rc != 0 {
    return Err(format!(
      "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: {}",
      std::io::Error::last_os_error()
    ));
  }
  Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(unix))]
pub fn thread_cpu_time_ns() -> Result<u64, String> {
  Err("thread CPU time is only implemented on Unix-like systems".into())
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::time::{Duration, Instant};

  #[test]
  fn counts_spinning_not_sleeping() {
    let t0 = thread_cpu_time_ns().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let slept = thread_cpu_time_ns().unwrap() - t0;
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < Duration::from_millis(50) {
      x = x.wrapping_add(std::hint::black_box(1));
    }
    let spun = thread_cpu_time_ns().unwrap() - t0 - slept;
    assert!(slept < 20_000_000, "slept {slept}ns");
    assert!(spun > 10_000_000, "spun {spun}ns (x={x})");
  }
}
