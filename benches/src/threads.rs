//! Waiting for this process's threads (counted with `support::counting::thread_count`), to know
//! when a dropped runtime's workers are really
//! gone.
//!
//! Not every runtime joins its workers before its drop returns: genrt detaches a worker that
//! has signalled its exit but is still finishing (thread-local destructors, its last `Arc`),
//! and futures' ThreadPool cannot be joined at all. Such a thread still runs and frees
//! memory after the drop, which skews the next timing and the memory readings. So after a
//! drop the method waits until the thread count is back where it was.

use std::time::{Duration, Instant};

/// The names of this process's threads (Linux), for messages about threads that linger.
pub fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let path = entry.ok()?.path().join("comm");
        Some(std::fs::read_to_string(path).ok()?.trim().to_string())
    })
    .collect()
}

/// [`thread_names`], with the threads whose names differ only in their digits counted
/// together (`blocking-1` ... `blocking-286` is shown as `blocking-# x286`): a pool of
/// hundreds of threads, such as the `blocking` crate's, stays one line long.
pub fn thread_names_summary() -> Vec<String> {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for name in thread_names() {
        let stem: String = name
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        let mut stem = stem.replace("##", "#");
        while stem.contains("##") {
            stem = stem.replace("##", "#");
        }
        match groups.iter_mut().find(|(s, _)| *s == stem) {
            Some((_, count)) => *count += 1,
            None => groups.push((stem, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(stem, count)| {
            if count == 1 {
                stem
            } else {
                format!("{stem} x{count}")
            }
        })
        .collect()
}

/// Waits until this process has at most `count` threads, or `timeout` passed. Returns the
/// number of threads above `count` that remain (0 when it could not count).
pub fn wait_for_at_most(count: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let Some(now) = support::counting::thread_count() else {
            return 0;
        };
        if now <= count {
            return 0;
        }
        if Instant::now() >= deadline {
            return now - count;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
