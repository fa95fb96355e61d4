//! Memory per pending task and what each runtime retains or leaks after it is dropped, with
//! the counting allocator: `cargo bench -p genrt-benches --bench memory`. Prints a markdown
//! table.

use genrt_benches::memory::{LEAK_TASKS, PENDING_TASKS};
use genrt_benches::{criterion_glue, suite};
use support::counting::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, selects contenders.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let workers = criterion_glue::workers();
    counting::assert_counting();
    println!(
        "| contender | bytes per pending task ({PENDING_TASKS} tasks) | retained after drop, wakers held ({LEAK_TASKS} tasks) | leaked after wakers dropped | worker threads left |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, run) in suite::memory(false) {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let per_task = run(workers, PENDING_TASKS);
        let leak = run(workers, LEAK_TASKS);
        println!(
            "| {name} | {:.0} | {} | {} | {} |",
            per_task.bytes_per_task, leak.retained_bytes, leak.leaked_bytes, leak.threads_left
        );
    }
}
