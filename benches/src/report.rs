//! The report of a run: a markdown table, `results.json` and `chart.svg`, all computed from
//! the measured [`Outcome`]s and [`MemoryFigures`], never typed by hand.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use crate::memory::MemoryFigures;
use crate::method::{format_ns, Outcome, Plan};
use crate::suite::FLOOR;

/// One contender's memory figures: the bytes-per-task run and the leak run.
#[derive(Clone, Debug)]
pub struct MemoryRow {
    /// The contender's name.
    pub contender: String,
    /// The run with [`PENDING_TASKS`](crate::memory::PENDING_TASKS) tasks.
    pub per_task: MemoryFigures,
    /// The run with [`LEAK_TASKS`](crate::memory::LEAK_TASKS) tasks.
    pub leak: MemoryFigures,
}

/// Everything a run produced.
pub struct Report {
    /// Worker threads of every contender.
    pub workers: usize,
    /// The plan the run followed.
    pub plan: Plan,
    /// `full` or `quick`.
    pub mode: &'static str,
    /// Whether this was an A/A run.
    pub aa: bool,
    /// The `--filter`, if any.
    pub filter: Option<String>,
    /// The machine, in words (CPU model, logical CPUs, the registry's barrier).
    pub machine: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// Wall time of the whole run, in seconds.
    pub wall_s: f64,
    /// The timed benchmarks.
    pub outcomes: Vec<Outcome>,
    /// The memory scenarios.
    pub memory: Vec<MemoryRow>,
    /// Bytes per pending sleep, by contender ([`PENDING_SLEEPS`](crate::memory::PENDING_SLEEPS)
    /// sleeps), the reference first.
    pub sleep_memory: Vec<(String, f64)>,
}

/// A ratio as a table cell.
fn ratio_cell(r: f64) -> String {
    format!("{r:.2}")
}

impl Report {
    /// The results as a markdown table. Ratios are genrt / contender: below 1 genrt is
    /// faster (or smaller), above 1 it is slower.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let reference = self
            .outcomes
            .first()
            .map(|o| o.samples[0].contender.clone())
            .or_else(|| self.memory.first().map(|m| m.contender.clone()))
            .unwrap_or_else(|| "genrt".into());
        let _ = writeln!(
            out,
            "| benchmark | contender | median | {reference}/contender | median of pairwise ratios | leak bytes |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        for o in &self.outcomes {
            for (i, s) in o.samples.iter().enumerate() {
                let median = format!("{}/{}", format_ns(o.median_per_op(i)), o.op);
                let (ratio, pairwise) = if i == 0 {
                    ("ref".to_string(), "ref".to_string())
                } else {
                    (
                        ratio_cell(o.ratio_of_medians(i)),
                        ratio_cell(o.pairwise_ratio(i)),
                    )
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {median} | {ratio} | {pairwise} | |",
                    o.bench, s.contender
                );
            }
        }
        if let Some(first) = self.memory.first() {
            let base = first.per_task.bytes_per_task;
            for (i, m) in self.memory.iter().enumerate() {
                let ratio = if i == 0 {
                    "ref".to_string()
                } else {
                    ratio_cell(base / m.per_task.bytes_per_task)
                };
                let _ = writeln!(
                    out,
                    "| memory/bytes_per_pending_task ({} tasks) | {} | {:.0} B/task | {ratio} | | |",
                    m.per_task.tasks, m.contender, m.per_task.bytes_per_task
                );
            }
            for m in &self.memory {
                let threads = if m.leak.threads_left > 0 {
                    format!(", {} worker threads never exit", m.leak.threads_left)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| memory/after_drop ({} tasks, wakers held outside) | {} | {} B retained while wakers held{threads} | | | {} |",
                    m.leak.tasks, m.contender, m.leak.retained_bytes, m.leak.leaked_bytes
                );
            }
        }
        if let Some((_, base)) = self.sleep_memory.first() {
            for (i, (contender, bytes)) in self.sleep_memory.iter().enumerate() {
                let ratio = if i == 0 {
                    "ref".to_string()
                } else {
                    ratio_cell(base / bytes)
                };
                let _ = writeln!(
                    out,
                    "| memory/bytes_per_pending_sleep ({} sleeps) | {contender} | {bytes:.0} B/sleep | {ratio} | | |",
                    crate::memory::PENDING_SLEEPS
                );
            }
        }
        out
    }

    /// Lines of notes: why a contender is missing somewhere, and the scale flatness of
    /// genrt (derived from the figures).
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.outcomes.iter().flat_map(|o| o.notes.clone()).collect();
        let floor = self
            .outcomes
            .iter()
            .any(|o| o.samples.iter().any(|s| s.contender == FLOOR));
        if floor {
            notes.push(format!(
                "{FLOOR}: a no-op waker with a static vtable, timed by the same loop: the limit of \
                 any waker. Against it, the ratio is how many times the limit the reference pays. \
                 Two-thread rows (_2t): time per operation per thread, both threads started \
                 together and timed until both are done."
            ));
        }
        let scale: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.bench.starts_with("scale/"))
            .collect();
        if let (Some(first), Some(last)) = (scale.first(), scale.last()) {
            if scale.len() > 1 {
                let name = &first.samples[0].contender;
                notes.push(format!(
                    "{name} spawn cost per task: {} at {} tasks, {} at {} tasks ({:.2}x)",
                    format_ns(first.median_per_op(0)),
                    first.ops_per_iter,
                    format_ns(last.median_per_op(0)),
                    last.ops_per_iter,
                    last.median_per_op(0) / first.median_per_op(0)
                ));
            }
        }
        notes
    }

    /// The results as JSON.
    pub fn json(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{{");
        let _ = writeln!(out, "  \"workers\": {},", self.workers);
        let _ = writeln!(out, "  \"mode\": {},", quote(self.mode));
        let _ = writeln!(out, "  \"aa\": {},", self.aa);
        let _ = writeln!(
            out,
            "  \"filter\": {},",
            self.filter.as_deref().map_or("null".into(), quote)
        );
        let _ = writeln!(out, "  \"machine\": {},", quote(&self.machine));
        let _ = writeln!(out, "  \"started_unix\": {},", self.started_unix);
        let _ = writeln!(out, "  \"wall_s\": {:.3},", self.wall_s);
        let _ = writeln!(
            out,
            "  \"plan\": {{\"min_rounds\": {}, \"max_rounds\": {}, \"contender_budget_s\": {}, \"samples\": {}, \"sample_target_ms\": {}, \"warmup_ms\": {}, \"round_budget_ms\": {}, \"run_budget_s\": {}}},",
            self.plan.min_rounds,
            self.plan.max_rounds,
            self.plan.contender_budget.as_secs_f64(),
            self.plan.samples,
            self.plan.sample_target.as_millis(),
            self.plan.warmup.as_millis(),
            self.plan.round_budget.as_millis(),
            self.plan.run_budget.as_secs_f64()
        );
        let _ = writeln!(out, "  \"benchmarks\": [");
        for (bi, o) in self.outcomes.iter().enumerate() {
            let _ = writeln!(out, "    {{");
            let _ = writeln!(out, "      \"name\": {},", quote(&o.bench));
            let _ = writeln!(out, "      \"ops_per_iter\": {},", o.ops_per_iter);
            let _ = writeln!(out, "      \"op\": {},", quote(o.op));
            let _ = writeln!(out, "      \"wall_s\": {:.3},", o.wall.as_secs_f64());
            let _ = writeln!(out, "      \"contenders\": [");
            for (i, s) in o.samples.iter().enumerate() {
                let (ratio, pairwise, pairs) = if i == 0 {
                    ("null".into(), "null".into(), "[]".into())
                } else {
                    (
                        num(o.ratio_of_medians(i)),
                        num(o.pairwise_ratio(i)),
                        list(&o.pairwise_ratios(i)),
                    )
                };
                let rounds: Vec<String> = s.rounds.iter().map(|r| list(r)).collect();
                let _ = writeln!(
                    out,
                    "        {{\"name\": {}, \"median_ns_per_op\": {}, \"ratio_of_medians\": {ratio}, \"pairwise_ratio\": {pairwise}, \"pairwise_ratios\": {pairs}, \"iters_per_sample\": {}, \"samples_ns_per_iter\": [{}]}}{}",
                    quote(&s.contender),
                    num(o.median_per_op(i)),
                    s.iters_per_sample,
                    rounds.join(", "),
                    if i + 1 < o.samples.len() { "," } else { "" }
                );
            }
            let _ = writeln!(out, "      ]");
            let _ = writeln!(
                out,
                "    }}{}",
                if bi + 1 < self.outcomes.len() {
                    ","
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(out, "  ],");
        let _ = writeln!(out, "  \"memory\": [");
        for (i, m) in self.memory.iter().enumerate() {
            let _ = writeln!(
                out,
                "    {{\"name\": {}, \"pending_tasks\": {}, \"bytes_per_pending_task\": {}, \"leak_tasks\": {}, \"retained_bytes_wakers_held\": {}, \"leaked_bytes\": {}, \"threads_left\": {}}}{}",
                quote(&m.contender),
                m.per_task.tasks,
                num(m.per_task.bytes_per_task),
                m.leak.tasks,
                m.leak.retained_bytes,
                m.leak.leaked_bytes,
                m.leak.threads_left,
                if i + 1 < self.memory.len() { "," } else { "" }
            );
        }
        let _ = writeln!(out, "  ],");
        let notes: Vec<String> = self.notes().iter().map(|n| quote(n)).collect();
        let _ = writeln!(out, "  \"notes\": [{}]", notes.join(", "));
        let _ = writeln!(out, "}}");
        out
    }

    /// A horizontal bar chart of the pairwise ratios (and the bytes-per-task ratios) on a
    /// log scale centred on 1, as SVG.
    pub fn svg(&self) -> String {
        let mut bars: Vec<(String, f64)> = Vec::new();
        for o in &self.outcomes {
            for i in 1..o.samples.len() {
                bars.push((
                    format!("{} vs {}", o.bench, o.samples[i].contender),
                    o.pairwise_ratio(i),
                ));
            }
        }
        if let Some(first) = self.memory.first() {
            for m in &self.memory[1..] {
                bars.push((
                    format!("memory/bytes_per_pending_task vs {}", m.contender),
                    first.per_task.bytes_per_task / m.per_task.bytes_per_task,
                ));
            }
        }
        chart(&bars, &self.title())
    }

    fn title(&self) -> String {
        let reference = self
            .outcomes
            .first()
            .map_or("genrt".into(), |o| o.samples[0].contender.clone());
        format!(
            "{reference} / contender (median of pairwise ratios; < 1: {reference} faster), {} workers, {}{}",
            self.workers,
            self.mode,
            if self.aa { ", A/A run" } else { "" }
        )
    }

    /// The table with its notes and a line saying how the run was made, as a markdown
    /// document to paste from (so no figure is ever typed by hand).
    pub fn document(&self) -> String {
        let mut out = format!(
            "{} workers, {} plan{}, {}, started at Unix time {}, wall time {:.1} s\n\n",
            self.workers,
            self.mode,
            if self.aa { ", A/A run" } else { "" },
            self.machine,
            self.started_unix,
            self.wall_s
        );
        out.push_str(&self.markdown());
        for note in self.notes() {
            let _ = write!(out, "\n{note}\n");
        }
        out
    }

    /// The timed results as tab-separated lines, one per benchmark and contender, after a
    /// header: `benchmark, op, contender, median_ns_per_op, ratio_of_medians, pairwise_ratio`
    /// (the reference's ratios are `ref`). What `scripts/scaling.sh` reads back
    /// ([`scaling_table`]), so that it needs nothing but the toolchain.
    pub fn tsv(&self) -> String {
        let mut out = String::from(
            "benchmark\top\tcontender\tmedian_ns_per_op\tratio_of_medians\tpairwise_ratio\n",
        );
        for o in &self.outcomes {
            for (i, s) in o.samples.iter().enumerate() {
                let (ratio, pairwise) = if i == 0 {
                    ("ref".to_string(), "ref".to_string())
                } else {
                    (num(o.ratio_of_medians(i)), num(o.pairwise_ratio(i)))
                };
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{ratio}\t{pairwise}",
                    o.bench,
                    o.op,
                    s.contender,
                    num(o.median_per_op(i))
                );
            }
        }
        out
    }

    /// Writes `results.md`, `results.json`, `results.tsv` and `chart.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("results.md"), self.document())?;
        std::fs::write(dir.join("results.json"), self.json())?;
        std::fs::write(dir.join("results.tsv"), self.tsv())?;
        std::fs::write(dir.join("chart.svg"), self.svg())?;
        Ok(())
    }
}

/// One line of a `results.tsv`.
struct TsvRow {
    bench: String,
    op: String,
    contender: String,
    median_ns: f64,
    pairwise: Option<f64>,
}

/// Parses a `results.tsv` written by [`Report::tsv`].
fn parse_tsv(text: &str) -> Result<Vec<TsvRow>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [bench, op, contender, median, _ratio, pairwise] = fields[..] else {
            return Err(format!("line {}: expected 6 fields: {line}", n + 1));
        };
        let median_ns = median
            .parse()
            .map_err(|_| format!("line {}: not a number: {median}", n + 1))?;
        rows.push(TsvRow {
            bench: bench.into(),
            op: op.into(),
            contender: contender.into(),
            median_ns,
            pairwise: pairwise.parse().ok(),
        });
    }
    Ok(rows)
}

/// One markdown table from several runs of `compare` at different worker counts: per
/// benchmark and worker count, the reference's median and the median of its pairwise ratios
/// to each contender (a column per contender, empty where a contender does not run that
/// benchmark). `runs` holds each run's worker count and the text of its `results.tsv`.
pub fn scaling_table(runs: &[(usize, String)]) -> Result<String, String> {
    let mut parsed = Vec::new();
    for (workers, text) in runs {
        parsed.push((*workers, parse_tsv(text)?));
    }
    // Benchmarks and contenders in order of first appearance; the reference is the first
    // contender of each benchmark.
    let mut benches: Vec<String> = Vec::new();
    let mut reference = String::new();
    let mut contenders: Vec<String> = Vec::new();
    for (_, rows) in &parsed {
        for row in rows {
            if !benches.contains(&row.bench) {
                benches.push(row.bench.clone());
            }
            if row.pairwise.is_none() {
                if reference.is_empty() {
                    reference = row.contender.clone();
                }
            } else if !contenders.contains(&row.contender) {
                contenders.push(row.contender.clone());
            }
        }
    }
    let mut out = String::new();
    let _ = write!(out, "| benchmark | workers | {reference} median |");
    for c in &contenders {
        let _ = write!(out, " {reference}/{c} |");
    }
    out.push_str("\n|---|---:|---:|");
    out.push_str(&"---:|".repeat(contenders.len()));
    out.push('\n');
    for bench in &benches {
        for (workers, rows) in &parsed {
            let these: Vec<&TsvRow> = rows.iter().filter(|r| &r.bench == bench).collect();
            let Some(reference_row) = these.iter().find(|r| r.pairwise.is_none()) else {
                continue;
            };
            let _ = write!(
                out,
                "| {bench} | {workers} | {}/{} |",
                format_ns(reference_row.median_ns),
                reference_row.op
            );
            for c in &contenders {
                match these
                    .iter()
                    .find(|r| &r.contender == c)
                    .and_then(|r| r.pairwise)
                {
                    Some(ratio) => {
                        let _ = write!(out, " {} |", ratio_cell(ratio));
                    }
                    None => out.push_str(" |"),
                }
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// The chart's log2 range: ratios are clamped to `[2^-LOG_RANGE, 2^LOG_RANGE]`.
const LOG_RANGE: f64 = 5.0;

/// The SVG of labelled ratio bars: log2 scale, 1 in the middle, green below 1, red above.
fn chart(bars: &[(String, f64)], title: &str) -> String {
    let label_w = 460.0;
    let plot_w = 520.0;
    let row_h = 18.0;
    let top = 50.0;
    let width = label_w + plot_w + 80.0;
    let height = top + row_h * bars.len() as f64 + 40.0;
    let x_of = |ratio: f64| {
        let l = ratio.log2().clamp(-LOG_RANGE, LOG_RANGE);
        label_w + plot_w / 2.0 + l / LOG_RANGE * (plot_w / 2.0)
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"11\">"
    );
    let _ = writeln!(
        s,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/><text x=\"10\" y=\"20\" font-size=\"13\">{}</text>",
        escape(title)
    );
    let axis_bottom = top + row_h * bars.len() as f64;
    for t in -LOG_RANGE as i32..=LOG_RANGE as i32 {
        let r = 2f64.powi(t);
        let x = x_of(r);
        let label = if t >= 0 {
            format!("{}", 1u64 << t)
        } else {
            format!("1/{}", 1u64 << -t)
        };
        let stroke = if t == 0 { "#000" } else { "#ddd" };
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{axis_bottom:.1}\" stroke=\"{stroke}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            top - 14.0,
            top - 18.0
        );
    }
    for (i, (label, ratio)) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let x1 = x_of(1.0);
        let x2 = x_of(*ratio);
        let (x, w) = if x2 < x1 {
            (x2, x1 - x2)
        } else {
            (x1, x2 - x1)
        };
        let fill = if *ratio <= 1.0 { "#3a9a4a" } else { "#c8453c" };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{:.1}\">{ratio:.2}</text>",
            label_w - 8.0,
            y + 12.0,
            escape(label),
            y + 3.0,
            w.max(1.0),
            row_h - 6.0,
            label_w + plot_w + 8.0,
            y + 12.0
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

/// `text` escaped for SVG text content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` as a JSON string literal.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number, or `null` when not finite.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "null".into()
    }
}

/// A JSON array of numbers.
fn list(xs: &[f64]) -> String {
    let items: Vec<String> = xs.iter().map(|x| num(*x)).collect();
    format!("[{}]", items.join(", "))
}
