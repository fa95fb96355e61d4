//! The registry's fence pair W2/U2 as an *asymmetric* barrier: a compiler fence on the wake
//! side (every foreign wake) and `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` on the
//! unregistering side (a runtime's or a local set's drop), where the kernel offers it.
//!
//! # Why
//!
//! A wake through the registry must order its announcement (W1) before its load of the
//! entry's target (W3), against an unregistering thread's swap (U1) and scan (U3): the
//! store-buffering shape, which needs a full fence on both sides (`registry.rs`, "Proof
//! sketch"). On some hosts a full fence (`mfence`, or any locked instruction) costs 4-5 ns,
//! three times a whole no-op waker call (BENCHMARKS.md, 2026-12-01 10:40); the wake runs on
//! every foreign or stale wake, the unregistering once per runtime. So the cost moves to the
//! rare side, as in userspace RCU and folly's `asymmetricHeavyBarrier`.
//!
//! # The guarantee used
//!
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` returns only after every thread of this
//! process that was running on another CPU has executed a full memory barrier, and a thread
//! that was not running passes a full barrier before it runs again (the context switch); the
//! call is itself a full barrier for its caller. So for any wake whose light barrier
//! [`light`] (a compiler fence: no reordering by the compiler across it) comes in program
//! order between W1 and W3, the heavy barrier [`heavy`] splits it as a `SeqCst` fence would:
//! either the wake's thread passed a full barrier after W1 and before the heavy barrier
//! returned, so W1 is visible to U3 (which comes after), or it had not yet reached W3 when
//! the barrier hit, and then its W3, after a full barrier that follows U1 (U1 precedes the
//! `membarrier` call in the unregistering thread), reads U1 or later. Either way the
//! registry's proof goes through with "W2 precedes U2" or "U2 precedes W2" as with fences.
//! Loom cannot model a system call: its models use `SeqCst` fences on both sides (the
//! issue's rule: models use `SeqCst` where the code uses a cheaper fence), which this module
//! does under loom and Miri as well.
//!
//! # When it is used
//!
//! Only on the registry's entries below `ASYMMETRIC_ENTRIES` (`registry.rs`), which runtimes
//! take first; local sets, made and dropped far more often, take the other entries first,
//! where both sides keep `fence(SeqCst)`, so that a set's drop interrupts no other thread.
//! Once per process, the first registration asks the kernel (`MEMBARRIER_CMD_QUERY`) and
//! registers the process for the expedited command (`MEMBARRIER_CMD_REGISTER_PRIVATE_
//! EXPEDITED`, Linux 4.14). If either fails (another kernel, a seccomp filter, Valgrind), or
//! `GENRT_FULL_FENCES` is set in the environment (an A/B switch for benchmarks), both sides
//! use `fence(SeqCst)` as before. Once on, it cannot be turned off: a process that refuses
//! `membarrier` later (a seccomp filter installed after its first runtime) aborts at its next
//! unregistering, with a message that names the cause and `GENRT_FULL_FENCES`, which such a
//! program must set. The switch is read with `Relaxed`: a waking thread that
//! does not see it yet uses a full fence, which is always enough; an unregistering thread
//! sees it, because its registration (which turned it on) happens-before its drop.
//!
//! *What the light side loses.* A coalesced wake also used W2 as the fence that publishes
//! the waker's writes to the next poll (`state.rs`, "Fenced by the caller"); [`light`] says
//! whether it was a full fence, and when it was not the registry takes the slot's own
//! fenced path (a fence and a reload, only for a coalesced wake; a stale wake needs none).

use crate::loom::sync::atomic::{fence, Ordering};

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
mod imp {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Once;

    // From linux/membarrier.h.
    pub(super) const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
    pub(super) const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    pub(super) const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    /// Whether the process is registered for the expedited command (set once, never unset).
    static ASYMMETRIC: AtomicBool = AtomicBool::new(false);
    static INIT: Once = Once::new();

    pub(super) fn membarrier(cmd: libc::c_long) -> libc::c_long {
        // SAFETY: `membarrier(cmd, flags = 0, cpu_id = 0)` reads and writes no memory of
        // ours; an unknown command or kernel fails with -1 and errno, never undefined
        // behaviour.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        }
    }

    pub(super) fn enable() {
        INIT.call_once(|| {
            if std::env::var_os("GENRT_FULL_FENCES").is_some() {
                return;
            }
            let supported = membarrier(MEMBARRIER_CMD_QUERY);
            let needed =
                MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
            if supported < 0 || supported & needed != needed {
                return;
            }
            if membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 {
                return;
            }
            // Relaxed: the `Once` orders it before every later `enable` returns; a thread
            // that reads `false` anyway uses a full fence (module docs).
            ASYMMETRIC.store(true, Ordering::Relaxed);
        });
    }

    #[inline]
    pub(super) fn asymmetric() -> bool {
        ASYMMETRIC.load(Ordering::Relaxed)
    }

    pub(super) fn heavy_system_barrier() {
        if membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
            // Registered, so the kernel refuses only a process that lost the registration (a
            // child of `fork`, should a kernel not carry it over; the Linux of this project's
            // machine does). Register again and retry once.
            && (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0
                || membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        {
            // Wakes rely on it, so going on would risk a use after free. Say why, and what to
            // do instead: the likely cause is a sandbox installed after the first runtime.
            eprintln!(
                "genrt: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after registration \
                 ({}); wakes from other threads rely on it, so the process cannot go on. Was a \
                 seccomp filter (or another sandbox) that refuses membarrier installed after \
                 the first runtime or local set was built? Set GENRT_FULL_FENCES=1 in the \
                 environment to use SeqCst fences instead of membarrier.",
                std::io::Error::last_os_error()
            );
            std::process::abort();
        }
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
mod imp {
    pub(super) fn enable() {}

    #[inline]
    pub(super) fn asymmetric() -> bool {
        false
    }

    pub(super) fn heavy_system_barrier() {}
}

/// Turns the asymmetric barrier on if the kernel has it; called by every registration before
/// it publishes its target (the first call decides, once per process).
pub(crate) fn enable() {
    imp::enable();
}

/// W2: the wake side's barrier. Returns `true` if it was a full `fence(SeqCst)` (the
/// asymmetric barrier is off), which may then stand for a coalesced wake's fence; `false`
/// if it was only a compiler fence, paired with [`heavy`].
#[inline]
pub(crate) fn light() -> bool {
    if imp::asymmetric() {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        false
    } else {
        fence(Ordering::SeqCst);
        true
    }
}

/// U2: the unregistering side's barrier: a `SeqCst` fence and, when the asymmetric barrier
/// is on, the system-wide one that pairs with the wakes' compiler fences.
pub(crate) fn heavy() {
    fence(Ordering::SeqCst);
    if imp::asymmetric() {
        imp::heavy_system_barrier();
    }
}

/// Whether wakes use the light barrier (for tests and the benchmark's report).
pub fn is_asymmetric() -> bool {
    imp::asymmetric()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// After `enable`, the barrier is asymmetric exactly when the kernel offers the expedited
    /// command and the A/B switch is not set; either way both halves run without error.
    #[test]
    fn enable_decides_once_from_the_kernel_and_the_switch() {
        enable();
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            let supported = imp::membarrier(imp::MEMBARRIER_CMD_QUERY);
            let needed = imp::MEMBARRIER_CMD_PRIVATE_EXPEDITED
                | imp::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
            let expected = std::env::var_os("GENRT_FULL_FENCES").is_none()
                && supported >= 0
                && supported & needed == needed;
            assert_eq!(is_asymmetric(), expected);
        }
        #[cfg(not(all(target_os = "linux", not(miri))))]
        assert!(!is_asymmetric());
        let was = is_asymmetric();
        enable();
        assert_eq!(is_asymmetric(), was, "decided once");
        assert_eq!(light(), !was, "a full fence exactly when not asymmetric");
        heavy();
    }
}
