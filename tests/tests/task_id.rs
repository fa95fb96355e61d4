//! Task ids (`genrt::task::{Id, id, try_id}`, `JoinHandle::id`, `AbortHandle::id`,
//! `JoinError::id`, `JoinSet::*_with_id`) with the meaning of Tokio's: the id a task sees
//! inside is the id its handles report, ids of tasks that exist at the same time differ,
//! there is no current task outside a task, and the drop of a cancelled future still runs
//! "inside" its task. Also the Tokio module paths (`genrt::task`, `genrt::runtime`) and
//! `Builder::new_current_thread`, and the metrics' Tokio names.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};

use genrt::task::{self, Id, JoinSet};
use support::{panic_message, quiet_panics, recv, wait_until, Watchdog, INTENTIONAL};

fn runtime() -> genrt::Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Pending for ever; records `try_id()` when dropped.
struct RecordIdOnDrop(mpsc::Sender<Option<Id>>);

impl Future for RecordIdOnDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for RecordIdOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(task::try_id());
    }
}

#[test]
fn the_id_inside_a_task_is_the_id_its_handles_report() {
    let _watchdog = Watchdog::new("task ids").arm();
    let rt = runtime();
    let handle = rt.spawn(async {
        let before = task::id();
        genrt::yield_now().await; // maybe another worker: the id stays
        assert_eq!(task::try_id(), Some(before));
        before
    });
    let (id, abort_id) = (handle.id(), handle.abort_handle().id());
    assert_eq!(abort_id, id);
    assert_eq!(rt.block_on(handle).unwrap(), id);
    let blocking = rt.spawn_blocking(task::id);
    let blocking_id = blocking.id();
    assert_eq!(rt.block_on(blocking).unwrap(), blocking_id);
}

#[test]
fn tasks_that_exist_at_the_same_time_have_distinct_ids() {
    let _watchdog = Watchdog::new("distinct ids").arm();
    let rt = runtime();
    let handles: Vec<_> = (0..2_000)
        .map(|i| {
            if i % 2 == 0 {
                rt.spawn(async { task::id() })
            } else {
                rt.spawn_blocking(task::id)
            }
        })
        .collect();
    let from_handles: HashSet<Id> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(from_handles.len(), handles.len());
    let from_inside: HashSet<Id> = handles
        .into_iter()
        .map(|h| rt.block_on(h).unwrap())
        .collect();
    assert_eq!(from_inside, from_handles);
}

#[test]
fn there_is_no_current_task_outside_a_task() {
    let _watchdog = Watchdog::new("no current task").arm();
    assert_eq!(task::try_id(), None);
    let rt = runtime();
    assert_eq!(
        rt.block_on(async { task::try_id() }),
        None,
        "block_on is not a task"
    );
    // After a task ran on a worker, nothing of it stays current there: the next task on
    // the same worker sees its own id (both handles alive: two tasks that exist at once).
    let rt = genrt::Builder::new_current_thread().build().unwrap();
    let first = rt.spawn(async { task::id() });
    let second = rt.spawn(async { task::id() });
    let ids = (first.id(), second.id());
    let seen = rt.block_on(async { (first.await.unwrap(), second.await.unwrap()) });
    assert_eq!(seen, ids);
    assert_ne!(ids.0, ids.1);
    assert_eq!(task::try_id(), None);
}

#[test]
fn id_outside_a_task_panics_with_a_clear_message() {
    let _watchdog = Watchdog::new("id outside a task panics with a clear message").arm();
    let _quiet = quiet_panics();
    let payload = std::panic::catch_unwind(task::id).unwrap_err();
    let message = panic_message(&*payload).unwrap();
    assert!(
        message.contains("genrt::task::id called outside a task") && message.contains("try_id"),
        "{message}"
    );
}

#[test]
fn a_cancelled_future_is_dropped_inside_its_task() {
    let _watchdog = Watchdog::new("ids while dropping").arm();
    let rt = runtime();
    let (tx, rx) = mpsc::channel();
    // Aborted: dropped by a worker, inside the task.
    let aborted = rt.spawn(RecordIdOnDrop(tx.clone()));
    let aborted_id = aborted.id();
    aborted.abort();
    let err = rt.block_on(aborted).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.id(), aborted_id);
    assert_eq!(recv(&rx, "the aborted future's drop"), Some(aborted_id));
    // Shut down: dropped by the thread that drops the runtime, inside the task.
    let pending = rt.spawn(RecordIdOnDrop(tx));
    let pending_id = pending.id();
    drop(rt);
    assert_eq!(recv(&rx, "the shut-down future's drop"), Some(pending_id));
    assert_eq!(
        task::try_id(),
        None,
        "the dropping thread is outside any task again"
    );
}

#[test]
fn a_task_dropping_another_runtime_is_current_again_afterwards() {
    let _watchdog = Watchdog::new("nested current tasks").arm();
    let outer = runtime();
    let (tx, rx) = mpsc::channel();
    let inner = runtime();
    let inner_ids: Vec<Id> = (0..4)
        .map(|_| inner.spawn(RecordIdOnDrop(tx.clone())).id())
        .collect();
    drop(tx);
    let inner = Arc::new(Mutex::new(Some(inner)));
    let handle = outer.spawn(async move {
        let me = task::id();
        // Dropping a runtime here cancels its tasks on this thread, each inside its own id.
        drop(inner.lock().unwrap().take());
        (me, task::try_id())
    });
    let me = handle.id();
    let (inside, after) = outer.block_on(handle).unwrap();
    assert_eq!((inside, after), (me, Some(me)));
    let dropped: HashSet<Option<Id>> = rx.iter().collect();
    let expected: HashSet<Option<Id>> = inner_ids.into_iter().map(Some).collect();
    assert_eq!(dropped, expected);
}

/// An output that records `try_id()` when dropped.
struct RecordIdOnOutputDrop(mpsc::Sender<Option<Id>>);

impl Drop for RecordIdOnOutputDrop {
    fn drop(&mut self) {
        let _ = self.0.send(task::try_id());
    }
}

#[test]
fn an_output_nobody_takes_is_dropped_inside_its_task() {
    let _watchdog = Watchdog::new("ids while dropping outputs").arm();
    let rt = runtime();
    let (tx, rx) = mpsc::channel();
    // The handle is gone before the task finishes: the worker drops the output.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let early = {
        let tx = tx.clone();
        rt.spawn_blocking(move || {
            let _ = go_rx.recv();
            RecordIdOnOutputDrop(tx)
        })
    };
    let early_id = early.id();
    drop(early);
    go_tx.send(()).unwrap();
    assert_eq!(recv(&rx, "the early-dropped output"), Some(early_id));
    // The handle is dropped after the task finished: its drop drops the output.
    let late = rt.spawn(async move { RecordIdOnOutputDrop(tx) });
    let late_id = late.id();
    wait_until("the task to finish", || late.is_finished());
    drop(late);
    assert_eq!(recv(&rx, "the late-dropped output"), Some(late_id));
    assert_eq!(task::try_id(), None);
}

#[test]
fn join_errors_carry_the_id_of_their_task() {
    let _watchdog = Watchdog::new("join error ids").arm();
    let _quiet = quiet_panics();
    let rt = runtime();
    let panicked = rt.spawn(async { panic!("{INTENTIONAL}: task id") });
    let panicked_id = panicked.id();
    let err = rt.block_on(panicked).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.id(), panicked_id);
    assert!(
        err.to_string()
            .starts_with(&format!("task {panicked_id} panicked")),
        "{err}"
    );
    let cancelled = rt.spawn(std::future::pending::<()>());
    let cancelled_id = cancelled.id();
    cancelled.abort();
    let err = rt.block_on(cancelled).unwrap_err();
    assert_eq!(err.id(), cancelled_id);
    assert_eq!(
        err.to_string(),
        format!("task {cancelled_id} was cancelled")
    );
    assert!(format!("{err:?}").contains(&format!("{cancelled_id:?}")));
}

#[test]
fn join_set_reports_the_ids_it_handed_out() {
    let _watchdog = Watchdog::new("join set ids").arm();
    let _quiet = quiet_panics();
    let rt = runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut expected = HashSet::new();
        for i in 0..16u32 {
            expected.insert((set.spawn(async move { (task::id(), i) }).id(), i));
        }
        let failing = set
            .spawn(async { panic!("{INTENTIONAL}: join set id") })
            .id();
        let mut seen = HashSet::new();
        let mut failed = None;
        while let Some(result) = set.join_next_with_id().await {
            match result {
                Ok((id, (inside, i))) => {
                    assert_eq!(id, inside);
                    seen.insert((id, i));
                }
                Err(err) => failed = Some(err.id()),
            }
        }
        assert_eq!(seen, expected);
        assert_eq!(failed, Some(failing));
    });
    let mut set = JoinSet::new();
    let id = set.spawn_on(async { 9 }, rt.handle()).id();
    let mut joined = None;
    wait_until("the task to finish", || {
        joined = set.try_join_next_with_id();
        joined.is_some()
    });
    assert_eq!(joined.unwrap().unwrap(), (id, 9));
}

#[test]
fn tokio_module_paths_name_the_same_items() {
    let _watchdog = Watchdog::new("module paths").arm();
    let rt: genrt::runtime::Runtime = genrt::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .unhandled_panic(genrt::runtime::UnhandledPanic::Ignore)
        .build()
        .unwrap();
    let _entered: genrt::runtime::EnterGuard<'_> = rt.enter();
    let handle: genrt::runtime::Handle = genrt::runtime::Handle::current();
    let _metrics: genrt::runtime::RuntimeMetrics = handle.metrics();
    let join: genrt::task::JoinHandle<u8> = genrt::task::spawn(async {
        genrt::task::yield_now().await;
        genrt::task::spawn_blocking(|| 4u8).await.unwrap()
    });
    let abort: genrt::task::AbortHandle = join.abort_handle();
    assert_eq!(rt.block_on(join).unwrap(), 4);
    assert!(abort.is_finished());
    drop(_entered);
    let outside: Result<_, genrt::runtime::TryCurrentError> =
        std::thread::spawn(|| genrt::runtime::Handle::try_current().map(|_| ()))
            .join()
            .unwrap();
    assert!(outside.is_err());
    let _: Option<genrt::task::JoinError> = None;
}

#[test]
fn a_current_thread_builder_runs_every_task_on_one_thread() {
    let _watchdog = Watchdog::new("current-thread builder").arm();
    let rt = genrt::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.metrics().snapshot().workers, 1);
    let threads: HashSet<std::thread::ThreadId> = rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..32 {
            set.spawn(async {
                genrt::yield_now().await;
                std::thread::current().id()
            });
        }
        set.join_all().await.into_iter().collect()
    });
    // The thread in `block_on` runs them, as in Tokio.
    assert_eq!(threads.len(), 1);
    assert!(threads.contains(&std::thread::current().id()));
}

#[test]
fn metrics_answer_to_tokios_names() {
    let _watchdog = Watchdog::new("metrics under Tokio's names").arm();
    let rt = genrt::Builder::new_current_thread().build().unwrap();
    // Queued from outside with no `block_on` running: they wait in the injector.
    let queued: Vec<_> = (0..5).map(|_| rt.spawn(async {})).collect();
    let metrics: genrt::runtime::RuntimeMetrics = rt.metrics();
    assert_eq!(metrics.num_workers(), 1);
    assert_eq!(metrics.num_alive_tasks(), 5);
    assert_eq!(metrics.spawned_tasks_count(), 5);
    assert_eq!(metrics.global_queue_depth(), 5);
    rt.block_on(async {
        for task in queued {
            task.await.unwrap();
        }
    });
    wait_until("every task to leave the runtime", || {
        rt.metrics().num_alive_tasks() == 0
    });
    assert_eq!(rt.metrics().global_queue_depth(), 0);
}

#[test]
fn ids_are_never_reused() {
    let _watchdog = Watchdog::new("ids never reused").arm();
    let rt = runtime();
    let mut seen = HashSet::new();
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async {});
        // Each task finishes and is joined (its cell freed) before the next is spawned: an
        // id made from anything reused (an address, a slot) would come back.
        for _ in 0..2_000 {
            let (id, ()) = set.join_next_with_id().await.unwrap().unwrap();
            assert!(seen.insert(id), "id {id} handed out twice");
            set.spawn(async {});
        }
    });
    for _ in 0..200 {
        let id = rt.block_on(rt.spawn(async { task::id() })).unwrap();
        assert!(seen.insert(id), "id {id} handed out twice");
    }
}

#[test]
fn code_outside_tasks_on_runtime_threads_sees_no_task() {
    let _watchdog = Watchdog::new("no task in hooks").arm();
    let (tx, rx) = mpsc::channel();
    let (start_tx, park_tx) = (tx.clone(), tx);
    let rt = genrt::Builder::new()
        .worker_threads(2)
        .on_thread_start(move || {
            let _ = start_tx.send(("start", task::try_id()));
        })
        .on_thread_park(move || {
            let _ = park_tx.send(("park", task::try_id()));
        })
        .build()
        .unwrap();
    // A task runs on a worker, then the worker parks: the park hook must not see it.
    rt.block_on(rt.spawn(async { task::id() })).unwrap();
    rt.block_on(rt.spawn_blocking(task::id)).unwrap();
    let mut parks = 0;
    while parks < 2 {
        let (hook, id) = recv(&rx, "a hook's report");
        assert_eq!(id, None, "the {hook} hook ran as a task");
        parks += usize::from(hook == "park");
    }
}

#[test]
fn join_set_ids_cover_blocking_tasks_and_polling() {
    let _watchdog = Watchdog::new("join set ids, blocking and polled").arm();
    let rt = runtime();
    let mut set = JoinSet::new();
    let blocking = set.spawn_blocking_on(task::id, rt.handle()).id();
    let asynchronous = set.spawn_on(async { task::id() }, rt.handle()).id();
    let mut joined = HashSet::new();
    rt.block_on(async {
        while let Some(result) = std::future::poll_fn(|cx| set.poll_join_next_with_id(cx)).await {
            let (id, inside) = result.unwrap();
            assert_eq!(id, inside);
            joined.insert(id);
        }
    });
    assert_eq!(joined, HashSet::from([blocking, asynchronous]));
}

/// A waker that records how often it was woken and `try_id()` at each wake.
struct RecordingWaker(Mutex<Vec<Option<Id>>>);

impl std::task::Wake for RecordingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.lock().unwrap().push(task::try_id());
    }
}

#[test]
fn a_join_handle_is_woken_once_and_outside_the_task() {
    let _watchdog = Watchdog::new("join handle wakes").arm();
    let rt = runtime();
    // One task finishes (a blocking closure let go by the test), one is aborted.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let finishing = rt.spawn_blocking(move || {
        let _ = go_rx.recv_timeout(support::DEADLINE);
    });
    let aborted = rt.spawn(std::future::pending::<()>());
    let end_finishing: Box<dyn FnOnce(&genrt::task::AbortHandle)> = Box::new(move |_| {
        let _ = go_tx.send(());
    });
    let end_aborted: Box<dyn FnOnce(&genrt::task::AbortHandle)> = Box::new(|abort| abort.abort());
    for (mut handle, end) in [(finishing, end_finishing), (aborted, end_aborted)] {
        let recorder = Arc::new(RecordingWaker(Mutex::new(Vec::new())));
        let waker = std::task::Waker::from(recorder.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        end(&handle.abort_handle());
        wait_until("the handle to be woken", || {
            !recorder.0.lock().unwrap().is_empty()
        });
        assert!(Pin::new(&mut handle).poll(&mut cx).is_ready());
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![None],
            "one wake, outside any task"
        );
    }
}
