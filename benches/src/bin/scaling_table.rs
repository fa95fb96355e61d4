//! Joins the `results.tsv` of several `compare` runs at different worker counts into one
//! markdown table: per benchmark and worker count, genrt's median and the median of its
//! pairwise ratios to each contender. `scripts/scaling.sh` runs it after the runs.
//!
//! ```text
//! scaling_table OUT.md WORKERS=DIR [WORKERS=DIR ...]
//! ```
//!
//! Each `DIR` is a `compare --out` folder; the first line of its `results.md` (worker count,
//! plan, machine, wall time) goes above the table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use genrt_benches::report::scaling_table;

/// The usage line.
const USAGE: &str = "usage: scaling_table OUT.md WORKERS=DIR [WORKERS=DIR ...]";

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or(USAGE)?);
    let mut runs = Vec::new();
    let mut headers = Vec::new();
    for arg in args {
        let (workers, dir) = arg.split_once('=').ok_or(USAGE)?;
        let workers: usize = workers
            .parse()
            .map_err(|_| format!("not a worker count: {workers}"))?;
        let dir = Path::new(dir);
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        runs.push((workers, read("results.tsv")?));
        if let Some(first) = read("results.md")?.lines().next() {
            headers.push(format!("- {first} ({})", dir.display()));
        }
    }
    if runs.is_empty() {
        return Err(USAGE.into());
    }
    let table = scaling_table(&runs)?;
    let document = format!(
        "# genrt at {} workers\n\nRatios are genrt / contender, the median of pairwise ratios \
         (below 1: genrt faster). Runs:\n\n{}\n\n{table}",
        runs.iter()
            .map(|(w, _)| w.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        headers.join("\n")
    );
    std::fs::write(&out, &document).map_err(|e| format!("{}: {e}", out.display()))?;
    print!("{document}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
