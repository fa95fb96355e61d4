//! An adversarial review of the registry's asymmetric W2/U2 barrier (`waker/src/barrier.rs`:
//! a compiler fence on the wake side, a `SeqCst` fence plus `membarrier` on the unregistering
//! side) and of x86's `F_P` (the claim's locked CAS, `waker/src/state.rs`): what
//! `stress_registry.rs`, `stale_wakers.rs` and `coalesced_wakes.rs` do not try.
//!
//! - U2 many times over: local sets built and dropped in a loop on several threads (each drop
//!   unregisters; local sets take the registry's fenced entries first, so this is the
//!   full-fence pair; runtimes, below, take the `membarrier` one), with tasks pending, finished and never
//!   polled, while other threads wake their keys at random: wakes of live sets (the page
//!   cache's and the uncached path), of sets being dropped, of sets gone, and of entries taken
//!   again by a later set. Nothing may crash, and every set's drop returns (the watchdog).
//! - A coalesced wake through the registry with a light W2 fences itself (`fenced == false`
//!   in `wake_through_entry`): a value written with `Relaxed` stores, then two wakes, from a
//!   plain thread to a task of a local set (the `LocalShared` target, whose wakes hand the
//!   owner's waker back to be woken after the window), and to a runtime's task while
//!   runtimes are built and dropped on other threads (their `membarrier` calls interrupt the
//!   waking thread at random points of its window). A lost wake stops a round; the
//!   watchdog fails the test.
//! - A process that refuses `membarrier` after its first registration (a seccomp filter
//!   installed later, as a program sandboxing itself after start-up does) cannot go on safely
//!   at its next unregistering: genrt aborts, and the message must name the likely cause and
//!   `GENRT_FULL_FENCES` (it named neither, fixed).
//!
//! Run both with and without `GENRT_FULL_FENCES=1` (the report line names the barrier).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use genrt::task::LocalSet;
use support::{drop_runtime, report, runtime, wait_until, Handoff, Watchdog};

/// Which barrier the process uses (decided at its first registration).
fn barrier() -> &'static str {
    if genrt_waker::is_asymmetric() {
        "asymmetric (membarrier)"
    } else {
        "SeqCst fences"
    }
}

/// Local sets each building thread makes and drops.
const SETS: usize = if cfg!(debug_assertions) {
    2_000
} else {
    20_000
};
/// Threads building and dropping local sets.
const BUILDERS: usize = 3;
/// Threads waking keys from the pool.
const WAKERS: usize = 2;
/// Wakers kept in the shared pool: the latest ones, from every set.
const POOL: usize = 64;

/// The wakers all waking threads wake: a ring of the latest `POOL`.
#[derive(Default)]
struct Pool {
    wakers: Mutex<(Vec<Waker>, usize)>,
}

impl Pool {
    fn put(&self, waker: &Waker) {
        let mut ring = self.wakers.lock().unwrap();
        let (wakers, next) = &mut *ring;
        if wakers.len() < POOL {
            wakers.push(waker.clone());
        } else {
            wakers[*next % POOL] = waker.clone();
        }
        *next += 1;
    }

    fn get(&self, seed: &mut u64) -> Option<Waker> {
        let ring = self.wakers.lock().unwrap();
        let wakers = &ring.0;
        (!wakers.is_empty()).then(|| wakers[(next(seed) as usize) % wakers.len()].clone())
    }
}

/// A tiny deterministic generator (xorshift).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Puts its waker in the pool at every poll; ready at poll `polls` (never when 0).
struct Pooled {
    pool: Arc<Pool>,
    polls: usize,
    seen: usize,
}

impl Future for Pooled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.pool.put(cx.waker());
        self.seen += 1;
        if self.seen == self.polls {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn local_sets_dropped_in_a_loop_while_other_threads_wake_their_keys() {
    let pool = Arc::new(Pool::default());
    let wakes = Arc::new(AtomicUsize::new(0));
    let (watched_pool, watched_wakes) = (pool.clone(), wakes.clone());
    Watchdog::new("local_sets_dropped_in_a_loop_while_other_threads_wake_their_keys")
        .limit(support::stress::LIMIT)
        .run(move || {
            let (pool, wakes) = (watched_pool, watched_wakes);
            let stop = Arc::new(AtomicBool::new(false));
            let wakers: Vec<_> = (0..WAKERS)
                .map(|w| {
                    let (pool, stop, wakes) = (pool.clone(), stop.clone(), wakes.clone());
                    thread::spawn(move || {
                        let mut seed = 0x2545_f491_4f6c_dd1d ^ (w as u64 + 1);
                        let mut count = 0;
                        while !stop.load(Ordering::Relaxed) {
                            match pool.get(&mut seed) {
                                Some(waker) => {
                                    waker.wake_by_ref();
                                    waker.wake();
                                    count += 2;
                                }
                                None => thread::yield_now(),
                            }
                        }
                        wakes.fetch_add(count, Ordering::Relaxed);
                    })
                })
                .collect();
            let builders: Vec<_> = (0..BUILDERS)
                .map(|b| {
                    let pool = pool.clone();
                    thread::spawn(move || {
                        let rt = genrt::Builder::new_current_thread().build().unwrap();
                        for set in 0..SETS {
                            let local = LocalSet::new();
                            for polls in 0..4 {
                                drop(local.spawn_local(Pooled {
                                    pool: pool.clone(),
                                    polls,
                                    seen: 0,
                                }));
                            }
                            // Some sets are dropped with their tasks never polled.
                            if (set + b) % 4 != 0 {
                                local.block_on(&rt, async {
                                    for _ in 0..3 {
                                        genrt::task::yield_now().await;
                                    }
                                });
                            }
                            drop(local);
                        }
                    })
                })
                .collect();
            for builder in builders {
                builder.join().expect("a building thread");
            }
            stop.store(true, Ordering::Relaxed);
            for waker in wakers {
                waker.join().expect("a waking thread");
            }
        });
    pool.wakers.lock().unwrap().0.clear();
    report(format_args!(
        "barrier_review: {} local sets built and dropped, {} foreign wakes; barrier: {}",
        SETS * BUILDERS,
        wakes.load(Ordering::Relaxed),
        barrier()
    ));
}

/// Rounds of the coalesced-wake tests. Under `membarrier` churn and a loaded machine a round
/// can take 100 us, so the watchdogs have the stress limit (a lost wake stops the test for
/// good, whatever the limit).
const ROUNDS: u64 = if cfg!(debug_assertions) {
    10_000
} else {
    100_000
};

/// The local set's target through the registry: a coalesced wake of a task of a set, from a
/// plain thread, fences itself when W2 is light; the scheduling wake hands the owner's waker
/// back (`schedule_fenced_deferred`).
#[test]
fn coalesced_wakes_to_a_local_set_task_from_a_foreign_thread_are_never_lost() {
    Watchdog::new("coalesced_wakes_to_a_local_set_task_from_a_foreign_thread_are_never_lost")
        .limit(support::stress::LIMIT)
        .run(|| {
            let rt = genrt::Builder::new_current_thread().build().unwrap();
            let local = LocalSet::new();
            let handoff = Handoff::new(ROUNDS);
            let follower = local.spawn_local(handoff.follower());
            let driver = {
                let handoff = handoff.clone();
                thread::spawn(move || handoff.drive())
            };
            local.block_on(&rt, follower).unwrap();
            driver.join().expect("the driver");
            assert!(handoff.is_done());
        });
    report(format_args!(
        "barrier_review: {ROUNDS} rounds of coalesced wakes to a local set; barrier: {}",
        barrier()
    ));
}

/// A runtime's task woken by a plain thread (W2 light, the slot's own fence) while other
/// threads build and drop runtimes, each drop a `membarrier` that interrupts the waking
/// thread and the polling worker anywhere in their windows.
#[test]
fn coalesced_wakes_are_never_lost_while_other_threads_unregister() {
    Watchdog::new("coalesced_wakes_are_never_lost_while_other_threads_unregister")
        .limit(support::stress::LIMIT)
        .run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let churn: Vec<_> = (0..2)
                .map(|_| {
                    let stop = stop.clone();
                    thread::spawn(move || {
                        // Runtimes, not local sets: they take the entries whose
                        // unregistering is a `membarrier` (`ASYMMETRIC_ENTRIES`).
                        let mut built = 0usize;
                        while !stop.load(Ordering::Relaxed) {
                            let rt = genrt::Builder::new_current_thread().build().unwrap();
                            rt.block_on(async {});
                            drop(rt);
                            built += 1;
                        }
                        built
                    })
                })
                .collect();
            let rt = runtime(2);
            let handoff = Handoff::new(ROUNDS);
            let handle = rt.spawn(handoff.follower());
            handoff.drive();
            wait_until("the follower's end", || handle.is_finished());
            rt.block_on(handle).unwrap();
            drop_runtime(rt);
            stop.store(true, Ordering::Relaxed);
            let sets: usize = churn.into_iter().map(|t| t.join().unwrap()).sum();
            assert!(sets > 0, "the other threads unregistered");
        });
}

/// Set in the child process of
/// [`a_membarrier_refused_after_the_first_registration_fails_with_a_clear_message`].
#[cfg(target_os = "linux")]
const SECCOMP_CHILD: &str = "GENRT_BARRIER_REVIEW_SECCOMP_CHILD";

/// A program that sandboxes itself after its runtime started (a seccomp filter without
/// `membarrier`, as a strict allow-list installed after initialisation has) cannot go on once
/// a local set or runtime is dropped: the wakes in flight used only a compiler fence, and the
/// kernel now refuses the barrier that pairs with it, so genrt aborts (Tokio, which has no
/// such barrier, would go on). The abort must say why and what to do instead: it said only
/// that `membarrier` "failed after registration", naming neither the likely cause nor
/// `GENRT_FULL_FENCES`. Run in a child process (the filter stays on its thread).
#[cfg(target_os = "linux")]
#[test]
fn a_membarrier_refused_after_the_first_registration_fails_with_a_clear_message() {
    if std::env::var_os(SECCOMP_CHILD).is_none() {
        let output = Watchdog::new("the child process").run(|| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "a_membarrier_refused_after_the_first_registration_fails_with_a_clear_message",
                    "--test-threads=1",
                    "--nocapture",
                ])
                .env(SECCOMP_CHILD, "1")
                .env_remove("GENRT_FULL_FENCES")
                .output()
                .unwrap()
        });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stdout.contains("no asymmetric barrier here") {
            report(format_args!(
                "barrier_review: the kernel offers no membarrier; nothing to refuse"
            ));
            return;
        }
        assert!(
            !output.status.success(),
            "the child went on after a refused membarrier: {stdout}{stderr}"
        );
        assert!(
            stderr.contains("GENRT_FULL_FENCES") && stderr.contains("seccomp"),
            "the abort names neither the likely cause nor the switch: {stderr}"
        );
        return;
    }
    // A runtime (local sets take the entries without the asymmetric pair first).
    let rt = genrt::Builder::new_current_thread().build().unwrap();
    if !genrt_waker::is_asymmetric() {
        println!("no asymmetric barrier here");
        return;
    }
    refuse_membarrier_on_this_thread();
    // Unregisters: U2's membarrier is refused, and so is the registration's retry.
    drop(rt);
    println!("went on");
}

/// Installs a seccomp filter on the calling thread that fails `membarrier` with `EPERM` and
/// allows every other system call.
#[cfg(target_os = "linux")]
fn refuse_membarrier_on_this_thread() {
    // Classic BPF (linux/filter.h): load the system call number (`BPF_LD | BPF_W | BPF_ABS`),
    // compare it (`BPF_JMP | BPF_JEQ | BPF_K`), return (`BPF_RET | BPF_K`).
    const BPF_LD_W_ABS: u16 = 0x20;
    const BPF_JMP_JEQ_K: u16 = 0x15;
    const BPF_RET_K: u16 = 0x06;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    let filter = [
        // `seccomp_data.nr` is at offset 0.
        libc::sock_filter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: BPF_JMP_JEQ_K,
            jt: 0,
            jf: 1,
            k: libc::SYS_membarrier as u32,
        },
        libc::sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
        libc::sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prctl` with these options reads only `program` and the filter it points to,
    // both alive for the call; the kernel copies the filter.
    let installed = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &program as *const libc::sock_fprog,
            ) == 0
    };
    assert!(
        installed,
        "the seccomp filter: {}",
        std::io::Error::last_os_error()
    );
}
