//! The memory scenarios measure what they claim: genrt retains and leaks nothing once
//! dropped, Tokio retains task cells while their wakers are held, and the Arc<Task>
//! executor (the pre-fix Crux design) really leaks. One test, so no other test allocates
//! while it measures.

use genrt_benches::memory::pending_tasks;
use genrt_benches::{ArcTaskExecutor, Genrt, Tokio};
use support::counting::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn retained_and_leaked_bytes_after_drop() {
    const TASKS: usize = 2_000;
    counting::assert_counting();

    let genrt = pending_tasks::<Genrt>(2, TASKS);
    assert!(genrt.bytes_per_task > 0.0);
    assert_eq!(genrt.retained_bytes, 0, "{genrt:?}");
    assert_eq!(genrt.leaked_bytes, 0, "{genrt:?}");

    let tokio = pending_tasks::<Tokio>(2, TASKS);
    assert!(tokio.retained_bytes > 0, "{tokio:?}");
    assert_eq!(tokio.leaked_bytes, 0, "{tokio:?}");

    let arc_task = pending_tasks::<ArcTaskExecutor>(2, TASKS);
    assert!(
        arc_task.leaked_bytes >= TASKS as isize * 64,
        "the Arc<Task> executor must leak every pending task: {arc_task:?}"
    );
}
