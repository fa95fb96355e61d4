//! `#[genrt::main]` and `#[genrt::test]`, as Tokio's attributes: the flavors, the arguments,
//! a return type with `?` in the body, and the runtime each builds.

use std::time::Duration;

use genrt::runtime::RuntimeFlavor;

#[genrt::test]
async fn a_test_runs_on_a_current_thread_runtime_by_default() {
    let handle = genrt::Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::CurrentThread);
    assert_eq!(handle.metrics().num_workers(), 1);
    assert_eq!(genrt::spawn(async { 1 + 1 }).await.unwrap(), 2);
}

#[genrt::test(flavor = "multi_thread", worker_threads = 3)]
async fn flavor_and_worker_threads_are_honoured() {
    let handle = genrt::Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 3);
}

#[genrt::test(start_paused = true)]
async fn start_paused_pauses_the_clock() {
    let start = genrt::time::Instant::now();
    genrt::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

#[genrt::test]
async fn time_pause_works_in_a_test_body() {
    genrt::time::pause();
    let start = genrt::time::Instant::now();
    genrt::time::advance(Duration::from_millis(1500)).await;
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
}

#[genrt::test]
async fn a_test_may_return_a_result_and_use_question_marks() -> Result<(), genrt::JoinError> {
    let value = genrt::spawn(async { "ok" }).await?;
    assert_eq!(value, "ok");
    Ok(())
}

#[genrt::test(crate = "genrt")]
async fn the_crate_argument_names_genrt() {
    genrt::task::yield_now().await;
}

#[genrt::test]
async fn local_tasks_run_in_a_test_body() {
    let local = genrt::task::LocalSet::new();
    let not_send = std::rc::Rc::new(5);
    let out = local
        .run_until(async move { genrt::task::spawn_local(async move { *not_send }).await })
        .await
        .unwrap();
    assert_eq!(out, 5);
}

mod main_attribute {
    #[genrt::main(flavor = "current_thread")]
    async fn main_like() -> u32 {
        genrt::spawn(async { 7 }).await.unwrap()
    }

    #[test]
    fn main_builds_a_runtime_and_returns_the_body_s_output() {
        assert_eq!(main_like(), 7);
        // A second call builds a second runtime: nothing is left from the first.
        assert_eq!(main_like(), 7);
    }
}
