//! The comparison suite works: every benchmark's workload runs for every contender, and the
//! method's arithmetic is right. No timing is asserted anywhere.

use std::time::Duration;

use genrt_benches::method::{self, median, Outcome, Samples};
use genrt_benches::report::Report;
use genrt_benches::suite;

/// Every timed benchmark, every contender: build, two iterations, drop. The largest scale
/// size is left out (the same code as the others with a bigger constant, and slow unoptimised).
#[test]
fn every_workload_runs_for_every_contender() {
    for aa in [false, true] {
        for bench in suite::timed(2, aa) {
            if bench.name == "scale/spawn_1000000" {
                continue;
            }
            for entry in &bench.contenders {
                let mut instance = (entry.make)();
                instance.iterate();
                instance.iterate();
                drop(instance);
                eprintln!("ok: {} / {}", bench.name, entry.name);
            }
        }
    }
}

/// The waker rows, each with the five runtimes and the floor last; the floor in no other row
/// and in no A/A run. (Each of these runs for each contender in the test above.)
#[test]
fn waker_rows_have_every_contender_and_the_floor() {
    let runtimes = [
        "genrt",
        "tokio",
        "async-executor",
        "futures-pool",
        "arc-task",
        suite::FLOOR,
    ];
    let benches = suite::timed(2, false);
    for name in [
        "wakers/clone_drop",
        "wakers/clone_drop_2t",
        "wakers/wake_by_ref_pending",
        "wakers/coalesced_wake_2t",
        "wakers/wake_distinct_2t",
        "wakers/stale_wake",
        "wakers/stale_wake_dropped",
        "wakers/will_wake",
    ] {
        let bench = benches
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("no benchmark {name}"));
        let names: Vec<&str> = bench.contenders.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, runtimes, "{name}");
    }
    for bench in &benches {
        let has_floor = bench.contenders.iter().any(|e| e.name == suite::FLOOR);
        assert_eq!(
            has_floor,
            bench.name.starts_with("wakers/"),
            "{}",
            bench.name
        );
    }
    for bench in suite::timed(2, true) {
        assert!(
            bench.contenders.iter().all(|e| e.name != suite::FLOOR),
            "{}",
            bench.name
        );
    }
}

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
}

/// Samples of one contender, one iteration each.
fn samples(name: &str, rounds: Vec<Vec<f64>>) -> Samples {
    Samples {
        contender: name.into(),
        iters_per_sample: 1,
        rounds,
    }
}

/// A two-contender outcome with hand-checkable figures.
fn outcome() -> Outcome {
    Outcome {
        bench: "group/bench".into(),
        ops_per_iter: 10,
        op: "op",
        samples: vec![
            samples(
                "genrt",
                vec![vec![10.0, 12.0], vec![11.0], vec![20.0], vec![22.0]],
            ),
            samples(
                "other",
                vec![vec![20.0], vec![22.0, 24.0], vec![20.0], vec![20.0]],
            ),
        ],
        wall: Duration::from_secs(1),
        notes: vec!["a note".into()],
    }
}

#[test]
fn ratios_are_taken_within_round_pairs() {
    let o = outcome();
    // Pair 0: genrt median of [10, 12, 11] = 11, other median of [20, 22, 24] = 22.
    // Pair 1: genrt median of [20, 22] = 21, other 20.
    assert_eq!(o.pairwise_ratios(1), vec![0.5, 21.0 / 20.0]);
    assert_eq!(o.pairwise_ratio(1), (0.5 + 1.05) / 2.0);
    // All samples: genrt median of [10, 12, 11, 20, 22] = 12, other of [20, 22, 24, 20, 20]
    // = 20.
    assert_eq!(o.ratio_of_medians(1), 0.6);
    assert_eq!(o.median_per_op(0), 1.2);
}

#[test]
fn report_renders_table_json_and_chart() {
    let report = Report {
        workers: 2,
        plan: method::Plan::quick(),
        mode: "quick",
        aa: false,
        filter: None,
        machine: "test \"machine\"".into(),
        started_unix: 0,
        wall_s: 1.0,
        outcomes: vec![outcome()],
        memory: Vec::new(),
        sleep_memory: vec![("genrt".into(), 100.0), ("other".into(), 200.0)],
    };
    let table = report.markdown();
    assert!(table.contains("| group/bench | genrt | 1.20 ns/op | ref | ref | |"));
    assert!(table.contains("| group/bench | other | 2.00 ns/op | 0.60 |"));
    assert!(table.contains(
        "| memory/bytes_per_pending_sleep (100000 sleeps) | other | 200 B/sleep | 0.50 |"
    ));
    let json = report.json();
    assert!(json.contains("\"machine\": \"test \\\"machine\\\"\""));
    assert!(json.contains("\"notes\": [\"a note\"]"));
    let svg = report.svg();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("group/bench vs other"));
}

#[test]
fn scaling_table_joins_runs() {
    let run = |genrt: f64, ratio: f64| {
        format!(
            "benchmark\top\tcontender\tmedian_ns_per_op\tratio_of_medians\tpairwise_ratio\n\
             wakers/x\top\tgenrt\t{genrt}\tref\tref\n\
             wakers/x\top\ttokio\t2.0\t{ratio}\t{ratio}\n\
             wakers/x\top\tfloor\t1.0\t3.0\t3.0\n\
             effects/y\titer\tgenrt\t1000.0\tref\tref\n\
             effects/y\titer\tcrux_core\t2000.0\t0.5\t0.5\n"
        )
    };
    let table = genrt_benches::report::scaling_table(&[(2, run(3.0, 1.5)), (4, run(4.0, 2.0))])
        .expect("well-formed runs");
    assert!(table.starts_with(
        "| benchmark | workers | genrt median | genrt/tokio | genrt/floor | genrt/crux_core |"
    ));
    assert!(table.contains("| wakers/x | 2 | 3.00 ns/op | 1.50 | 3.00 | |"));
    assert!(table.contains("| wakers/x | 4 | 4.00 ns/op | 2.00 | 3.00 | |"));
    assert!(table.contains("| effects/y | 4 | 1.00 µs/iter | | | 0.50 |"));
    assert!(genrt_benches::report::scaling_table(&[(2, "header\nbad line".into())]).is_err());
}

/// `wake_steady`'s runs on every contender and shape: the polls it reports are the woken
/// tasks' own (at most one per wake, plus a poll in flight at the start), and the table has
/// a line per shape and contender.
#[test]
fn steady_wake_runs_report_polls_per_wake_for_every_contender() {
    use genrt_benches::steady::{self, Shape};
    for shape in Shape::ALL {
        for name in steady::CONTENDERS {
            let sample = steady::run_named(name, shape, 2, 2_000).expect("a known contender");
            assert!(sample.ns_per_wake > 0.0, "{name} {shape:?}: {sample:?}");
            assert!(
                (0.0..=1.01).contains(&sample.polls_per_wake),
                "{name} {shape:?}: {sample:?}"
            );
        }
    }
    assert!(steady::run_named("nobody", Shape::Pending1t, 2, 1).is_none());
    let table = steady::table(2, 1_000, 1);
    assert_eq!(
        table.lines().count(),
        2 + Shape::ALL.len() * steady::CONTENDERS.len()
    );
}
