//! genrt in five minutes: build a runtime, spawn tasks, await them, abort one, and let a task
//! wait for a value that another thread provides.
//!
//! ```text
//! cargo run --example quick_start
//! ```

use std::thread;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    // A runtime with two worker threads (`Runtime::new()` takes one per CPU).
    let rt = genrt::Builder::new().worker_threads(2).build()?;

    // 1. Spawn from any thread; a JoinHandle is a future of `Result<T, JoinError>`.
    let answer = rt.spawn(async { 6 * 7 });
    println!("spawned task returned {}", rt.block_on(answer)?);

    // 2. Inside a task (or `block_on`), `genrt::spawn` finds the current runtime. Tasks
    //    spawned there start on the same worker and may be stolen by the others.
    let total = rt.block_on(async {
        let children: Vec<_> = (1..=10u64)
            .map(|i| {
                genrt::spawn(async move {
                    // Give the other tasks a turn before finishing.
                    genrt::yield_now().await;
                    i * i
                })
            })
            .collect();
        let mut total = 0;
        for child in children {
            total += child.await.expect("a child task failed");
        }
        total
    });
    println!("sum of squares 1..=10 = {total}");

    // 3. A panic inside a task is caught and reported through its JoinHandle (the default
    //    panic hook still prints it); the worker goes on with the other tasks.
    let err = rt
        .block_on(rt.spawn(async { panic!("something went wrong") }))
        .unwrap_err();
    println!("a panicking task: is_panic() = {}", err.is_panic());

    // 4. Aborting a task drops its future at its next scheduling point.
    let forever = rt.spawn(std::future::pending::<()>());
    forever.abort();
    let err = rt.block_on(forever).unwrap_err();
    println!("an aborted task: is_cancelled() = {}", err.is_cancelled());

    // 5. A task can wait for a value that the outside world provides: a shell request. The
    //    request holds the task's waker, and a genrt waker is a key, not an owner, so a
    //    request nobody resolves keeps nothing alive once the task or the runtime is gone.
    let (request, resolver) = genrt::shell::request::<String>();
    let task = rt.spawn(async move {
        let name = request.await.expect("the shell resolves the request");
        format!("hello, {name}")
    });
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(10)); // the "shell" doing its work
        resolver.resolve("shell".to_string()).unwrap();
    });
    println!("{}", rt.block_on(task)?);

    // 6. Wait until every task is suspended or finished, then read the counters.
    rt.settle();
    let m = rt.metrics().snapshot();
    println!(
        "spawned {}, completed {}, live {}",
        m.spawned, m.completed, m.live_tasks
    );

    // Dropping the runtime cancels every unfinished task and joins the workers.
    drop(rt);
    Ok(())
}
