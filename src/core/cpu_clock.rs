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
  Ok(timespec_ns(ts.tv_sec as u64, ts.tv_nsec as u64))
}

/// `timespec` to nanoseconds; apart so a test can reach whole seconds without a second of CPU.
#[cfg_attr(not(unix), allow(dead_code))]
fn timespec_ns(sec: u64, nsec: u64) -> u64 {
  sec * 1_000_000_000 + nsec
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
  fn whole_seconds_count_as_a_billion_nanoseconds() {
    assert_eq!(timespec_ns(0, 7), 7);
    assert_eq!(timespec_ns(3, 250_000_000), 3_250_000_000);
  }

  #[test]
  fn counts_spinning_not_sleeping() {
    // Relations only, so a loaded machine cannot fail it: a thread cannot use more CPU
    // than the time that passed around the reads, and spinning uses more than sleeping.
    let wall0 = Instant::now();
    let t0 = thread_cpu_time_ns().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let t1 = thread_cpu_time_ns().unwrap();
    let wall1 = Instant::now();
    let mut x = 0u64;
    while wall1.elapsed() < Duration::from_millis(50) {
      x = x.wrapping_add(std::hint::black_box(1));
    }
    let t2 = thread_cpu_time_ns().unwrap();
    let wall2 = Instant::now();
    let (slept, spun) = (t1 - t0, t2 - t1);
    let ns = |d: Duration| d.as_nanos() as u64;
    assert!(slept <= ns(wall1 - wall0), "slept {slept} ns of CPU");
    assert!(spun <= ns(wall2 - wall1), "spun {spun} ns of CPU");
    assert!(spun > slept, "spun {spun} ns, slept {slept} ns (x={x})");
  }
}
