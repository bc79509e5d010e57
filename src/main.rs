//! The `fleetsim` command line: parse, call the library, print.

use clap::{Parser, Subcommand};
use fleetsim::catalog::Catalog;
use fleetsim::fit::{self, LengthModel};
use fleetsim::perf_model::DEFAULTS;
use fleetsim::perf_model::ModelShape;
use fleetsim::study::{Options, run_study};
use fleetsim::units::{HumanUnit, Ratio, Seconds, si};
use fleetsim::validate::{self, Subset};
use fleetsim::workload::Trace;
use fleetsim::workload::trace::{BadRows, TraceFormat};
use fleetsim::{Error, autoscale, estimate, grow, report, scenario, shard, sweep};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Simulate the datacenters that serve large language models.
#[derive(Parser)]
#[command(name = "fleetsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario's runs and write the study: summary.json, summary.md, runs.csv,
    /// timeseries.csv, charts/ and report.html.
    Run {
        /// The scenario YAML file.
        scenario: PathBuf,
        #[command(flatten)]
        study: StudyArgs,
        #[command(flatten)]
        shard: ShardArgs,
    },
    /// Study the scenario at many fleet sizes, GPUs, tensor-parallel degrees and loads (each
    /// point a Monte Carlo study, all with the same random streams) and, with --find, the
    /// smallest fleet that meets the SLO for each GPU and degree and the cheapest of them;
    /// writes sweep.csv, sweep.md, charts/ and report.html.
    Sweep {
        /// The scenario YAML file (its `sweep:` section gives the defaults of the flags).
        scenario: PathBuf,
        /// Fleet sizes: a list `2,4,8` or a range `1..16` (`2..32:2` for every second).
        #[arg(long, value_parser = |t: &str| sweep::plan::parse_servers(t).map(Servers))]
        servers: Option<Servers>,
        /// GPUs, catalog ids: `h100-sxm,h200` (prices from the `sweep.gpus` entry of each id).
        #[arg(long, value_parser = |t: &str| sweep::plan::parse_gpus(t).map(GpuIds))]
        gpus: Option<GpuIds>,
        /// Tensor-parallel degrees, each with each GPU a configuration: `2,4,8`.
        #[arg(long, value_parser = |t: &str| sweep::plan::parse_tensor_parallel(t).map(Degrees))]
        tensor_parallel: Option<Degrees>,
        /// Load multipliers of the offered load (open-loop rate, or closed-loop clients):
        /// `0.5,1,2`.
        #[arg(long, value_parser = |t: &str| sweep::plan::parse_loads(t).map(Loads))]
        load: Option<Loads>,
        /// Search the smallest fleet meeting the SLO at each load (doubling, then bisection).
        #[arg(long, conflicts_with = "no_find")]
        find: bool,
        /// Study the grid only, without the capacity search the scenario's sweep.search asks
        /// for (what --shard can cut).
        #[arg(long)]
        no_find: bool,
        /// Share of runs that must meet every SLO target (default sweep.slo_share, else 0.95).
        #[arg(long, value_parser = share)]
        slo_share: Option<f64>,
        /// Largest fleet the search tries (default sweep.search.max_servers, else 1024).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_servers: Option<u64>,
        #[command(flatten)]
        study: StudyArgs,
        #[command(flatten)]
        shard: ShardArgs,
    },
    /// Study a scenario with `fleet.autoscaling` twice over the same runs — autoscaled, and
    /// with the fleet fixed at `fleet.servers` — and compare cost, servers on and SLO;
    /// writes autoscale.csv, autoscale.md, charts/ and report.html.
    Autoscale {
        /// The scenario YAML file.
        scenario: PathBuf,
        #[command(flatten)]
        study: StudyArgs,
    },
    /// Plan the fleet month by month as the traffic grows (the scenario's `growth:` section):
    /// each month, the smallest fleet meeting the SLO at the forecast traffic × (1 +
    /// headroom), servers ordered a lead time ahead, and the planned fleet simulated at each
    /// run's traffic; writes grow.csv, grow.md, charts/ and report.html.
    Grow {
        /// The scenario YAML file (its `growth:` section gives the defaults of the flags).
        scenario: PathBuf,
        /// Months planned, the start month included (default growth.months, else 12).
        #[arg(long)]
        months: Option<u64>,
        /// Months between ordering servers and having them in service (default
        /// growth.plan.lead_time, else 0).
        #[arg(long)]
        lead_time: Option<u64>,
        /// Capacity beyond the forecast: `0.2` or `20%` plans 1.2 × the forecast traffic
        /// (default growth.plan.headroom, else 0).
        #[arg(long, value_parser = |t: &str| Ratio::parse(t).map(|r| r.0))]
        headroom: Option<f64>,
        /// Which figure of the runs' traffic to plan for: `p50`, `p90`, `mean` (default
        /// growth.plan.forecast, else p50).
        #[arg(long)]
        forecast: Option<String>,
        /// Bought servers: the fleet never shrinks (default: as costs.hardware says).
        #[arg(long, conflicts_with = "rented")]
        owned: bool,
        /// Rented servers: the fleet follows the requirement down at once.
        #[arg(long)]
        rented: bool,
        /// Share of runs that must meet every SLO target (default growth.plan.slo_share,
        /// else sweep.slo_share, else 0.95).
        #[arg(long, value_parser = share)]
        slo_share: Option<f64>,
        /// Largest fleet the capacity search tries (default growth.plan.max_servers, else
        /// 1024).
        #[arg(long)]
        max_servers: Option<u64>,
        #[command(flatten)]
        study: StudyArgs,
        #[command(flatten)]
        shard: ShardArgs,
    },
    /// Merge the shard folders of a `run`, `sweep` or `grow` cut with --shard into exactly
    /// the results the command writes in one process; refuses shards of another scenario,
    /// option, seed or release, and lists runs missing or held twice.
    Merge {
        /// The shard folders, every shard once (`shards/*`).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Results folder (replaced whole); default as the command's own.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The scenario the shards were cut from, when it is no longer where they say (its
        /// bytes must be the same).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Simulate here the runs no shard folder holds, instead of stopping.
        #[arg(long)]
        resume: bool,
        /// Worker threads for those runs (default: every core); the results do not depend
        /// on it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: Option<u64>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Predict measured figures (a CSV of measurements with their configurations) and
    /// report the error per row and per metric; optionally fit the step model first.
    Validate {
        /// The measurement CSV (format in the README).
        file: PathBuf,
        /// Results folder (replaced whole); default results/validate-<file name>.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Simulated time per configuration.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        horizon: Seconds,
        /// Fit compute_efficiency, memory_efficiency and step_overhead to the timing rows
        /// before predicting.
        #[arg(long)]
        fit: bool,
        /// Fit to the rows of one GPU or model only (`gpu=h100-sxm`, `model=llama-3.1-8b`)
        /// and predict the others with it; implies --fit.
        #[arg(long, value_parser = parse_subset)]
        fit_on: Option<Subset>,
        /// Worker threads (default: every core); the results do not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: Option<u64>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Fit a workload to a trace (Azure, BurstGPT or Mooncake) and print it as a scenario's
    /// `workload:` section — rate, daily profile, burstiness, lengths — with the goodness of
    /// fit.
    Fit {
        /// The trace file.
        trace: PathBuf,
        /// The trace's format: azure, burstgpt or mooncake (default: told by its first line).
        #[arg(long, value_parser = |t: &str| t.parse::<TraceFormat>())]
        format: Option<TraceFormat>,
        /// Length distributions written: lognormal, the trace's quantiles, or auto (the
        /// lognormal when its p50, p90 and p99 are within 5% of the trace's).
        #[arg(long, value_enum, default_value_t = Lengths::Auto)]
        lengths: Lengths,
        /// Leave out rows that cannot be read, and count them, instead of stopping.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// Check a scenario and print the fleet it describes, without simulating.
    Check {
        /// The scenario YAML file.
        scenario: PathBuf,
        /// Leave out rows of the scenario's trace that cannot be read, and count them.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// Estimate a scenario's day in closed form, without simulating: tokens → FLOPs and bytes
    /// → GPU-seconds → GPUs needed → power → cost, each step with its formula and numbers.
    Estimate {
        /// The scenario YAML file.
        scenario: PathBuf,
        /// A results folder written by `fleetsim run`: compare its summary.json with the
        /// closed form.
        #[arg(long)]
        results: Option<PathBuf>,
        /// Target share of GPU-time doing work at full batches, for the fleet the work needs
        /// (above 0, at most 1).
        #[arg(long, default_value_t = estimate::DEFAULT_UTILIZATION, value_parser = share)]
        utilization: f64,
        /// Requests per day instead of the workload's volume; required for a closed loop
        /// (workload.concurrency).
        #[arg(long, value_parser = volume)]
        requests_per_day: Option<f64>,
        /// Leave out rows of the scenario's trace that cannot be read, and count them.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// List the built-in GPUs and models with their key figures.
    Catalog {
        /// Only GPUs or only models.
        #[arg(value_enum)]
        only: Option<CatalogPart>,
        /// Also print where every entry's figures come from.
        #[arg(long)]
        sources: bool,
    },
}

/// `--servers`, parsed whole (clap would take a `Vec` for a repeated flag).
#[derive(Clone)]
struct Servers(Vec<u64>);

/// `--gpus`, parsed whole.
#[derive(Clone)]
struct GpuIds(Vec<String>);

/// `--tensor-parallel`, parsed whole.
#[derive(Clone)]
struct Degrees(Vec<u32>);

/// `--load`, parsed whole.
#[derive(Clone)]
struct Loads(Vec<f64>);

/// A share above 0 and at most 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!(
            "expected a share above 0 and at most 1, such as 0.5; got `{text}`"
        )),
    }
}

/// A number of requests, 0 or more: `5e5`, `2000000`.
fn volume(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "expected a number of requests ≥ 0, such as 5e5; got `{text}`"
        )),
    }
}

/// What `run`, `sweep` and `grow` share: where results go, the random streams, runs,
/// threads.
#[derive(clap::Args)]
struct StudyArgs {
    /// Results folder (replaced whole, only once every file is written); default
    /// results/<scenario name> (results/<scenario name>-sweep for a sweep,
    /// results/<scenario name>-grow for a growth plan).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed of the random streams, instead of the scenario's study.seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Monte Carlo runs (per point of a sweep or a growth plan), instead of the scenario's
    /// study.runs.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Worker threads (default: every core); the results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Print nothing but errors, and draw no progress bar.
    #[arg(long)]
    quiet: bool,
    /// Simulate every step as an event with a pass over the whole batch (the reference),
    /// instead of runs of decode steps as one event and decoding sequences in lockstep; the
    /// results are the same, only slower.
    #[arg(long)]
    single_step: bool,
    /// Leave out rows of the scenario's trace that cannot be read, and count them in the
    /// summary, instead of stopping.
    #[arg(long)]
    skip_bad_rows: bool,
}

/// `--shard` and `--resume`, on the commands that can be cut into shards.
#[derive(clap::Args)]
struct ShardArgs {
    /// Run only shard I of N (0-based: 0/3, 1/3, 2/3), the runs k = point × runs + run with
    /// k mod N = I, into the shard folder --out (required); `fleetsim merge` joins the
    /// shards.
    #[arg(
        long,
        value_name = "I/N",
        value_parser = shard::Shard::parse,
        requires = "out",
        allow_hyphen_values = true
    )]
    shard: Option<shard::Shard>,
    /// Keep the runs an interrupted attempt at this shard finished, and simulate only the
    /// rest (nothing when the shard folder is already complete).
    #[arg(long, requires = "shard")]
    resume: bool,
}

/// Ctrl-C stops a study between runs; the previous results stay as they were.
static CANCEL: AtomicBool = AtomicBool::new(false);

impl StudyArgs {
    /// The options that change what the scenario resolves to.
    fn overrides(&self) -> scenario::Overrides {
        scenario::Overrides {
            seed: self.seed,
            runs: self.runs,
            single_step: self.single_step,
            skip_bad_rows: self.skip_bad_rows,
        }
    }

    /// The scenario at `path` with the seed, runs and stepping given on the command line.
    fn load(&self, path: &std::path::Path) -> Result<scenario::ScenarioFile, Error> {
        Ok(self.overrides().load(path)?)
    }

    /// The rows of the trace the scenario replays, unless quiet: what a sweep, an
    /// autoscaling comparison or a growth plan reads (a run's summary has them).
    fn print_trace(&self, file: &scenario::ScenarioFile) -> Result<(), Error> {
        if !self.quiet {
            if let Some(replay) = file.scenario(0)?.workload.replay() {
                let trace = report::document::TraceInfo::of(replay);
                println!("trace: {}", report::markdown::trace_rows(&trace));
            }
        }
        Ok(())
    }

    /// Study options: threads, a progress bar on a terminal, Ctrl-C caught.
    fn options(&self) -> Options<'static> {
        options(self.threads, self.quiet)
    }
}

/// Study options: `threads`, a progress bar on a terminal unless `quiet`, Ctrl-C caught.
fn options(threads: Option<u64>, quiet: bool) -> Options<'static> {
    let _ = ctrlc::set_handler(|| CANCEL.store(true, Ordering::Relaxed));
    Options {
        threads: threads.map(|t| t as usize),
        progress: !quiet && std::io::stderr().is_terminal(),
        cancel: Some(&CANCEL),
        recorded: None,
    }
}

/// Runs shard `shard` of `command` on the scenario at `path` into the shard folder `--out`.
fn run_shard(
    path: &std::path::Path,
    args: &StudyArgs,
    shard: shard::Shard,
    resume: bool,
    command: shard::Command,
) -> Result<(), Error> {
    let dir = args.out.clone().expect("clap requires --out with --shard");
    let options = args.options();
    let started = Instant::now();
    let earlier = if resume {
        report::shard::earlier_manifest(&dir)?
    } else {
        None
    };
    let mut cut = shard::Cut::new(
        path,
        &args.overrides(),
        &command,
        shard,
        earlier.as_ref(),
        &options,
    )?;
    if let Some(earlier) = &earlier {
        earlier
            .check_same_shard(&cut.manifest, "this command")
            .map_err(|e| {
                fleetsim::InputError::general(format!(
                    "cannot resume: the shard there is not this one: {e}; run without --resume \
                     to start it over"
                ))
                .in_file(&dir)
            })?;
    }
    let units = cut.manifest.units.len();
    if resume && report::shard::is_finished(&dir, &cut.manifest) {
        if !args.quiet {
            println!(
                "shard {shard} of {}: all {units} runs already in {}",
                cut.scenario_name()?,
                dir.display()
            );
        }
        return Ok(());
    }
    let folder = report::ShardFolder::open(&dir, resume)?;
    folder.write_manifest(&cut.manifest)?;
    let done = cut.run(
        |unit| folder.has(unit),
        |unit, record| folder.write_unit(unit, record),
        &options,
    )?;
    folder.commit()?;
    if !args.quiet {
        let kept = if done.kept > 0 {
            format!(", {} kept from an earlier attempt", done.kept)
        } else {
            String::new()
        };
        println!(
            "wrote {} (shard {shard} of {}: {units} of {} runs, {} simulated in {:.1} s{kept}; \
             merge the shards with `fleetsim merge`)",
            dir.display(),
            cut.scenario_name()?,
            cut.manifest.points.len() as u64 * cut.manifest.runs,
            done.simulated,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CatalogPart {
    Gpus,
    Models,
}

/// `fit --lengths`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Lengths {
    Auto,
    Lognormal,
    Quantiles,
}

/// `--skip-bad-rows` as the trace reader takes it.
fn bad_rows(skip: bool) -> BadRows {
    if skip { BadRows::Skip } else { BadRows::Reject }
}

fn main() -> ExitCode {
    restore_sigpipe();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// Gives SIGPIPE back its default action, as command-line tools have it: `fleetsim … | head`
/// then ends quietly when `head` stops reading, instead of panicking on the closed pipe (Rust
/// programs ignore SIGPIPE unless told otherwise).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any other thread exists; SIG_DFL is a valid
    // action for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run {
            scenario: path,
            study: args,
            shard:
                ShardArgs {
                    shard: Some(shard),
                    resume,
                },
        } => run_shard(&path, &args, shard, resume, shard::Command::Run),
        Command::Run {
            scenario: path,
            study: args,
            shard: ShardArgs { shard: None, .. },
        } => {
            let file = args.load(&path)?;
            let options = args.options();
            let started = Instant::now();
            let study = run_study(&file, &options)?;
            let elapsed = started.elapsed();
            let dir = args
                .out
                .clone()
                .unwrap_or_else(|| report::default_output_dir(&study.first_scenario.name));
            let written = report::write_study(&dir, &study, Some(&CANCEL))?;
            if !args.quiet {
                print_study(study.runs, &written);
                println!(
                    "wrote {} ({} simulated in {:.2} s)",
                    dir.display(),
                    if study.runs == 1 {
                        "1 run".to_string()
                    } else {
                        format!("{} runs", study.runs)
                    },
                    elapsed.as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Sweep {
            scenario: path,
            servers,
            gpus,
            tensor_parallel,
            load,
            find,
            no_find,
            slo_share,
            max_servers,
            study: args,
            shard: shard_args,
        } => {
            let overrides = sweep::Overrides {
                servers: servers.map(|s| s.0),
                gpus: gpus.map(|g| g.0),
                tensor_parallel: tensor_parallel.map(|t| t.0),
                load: load.map(|l| l.0),
                slo_share,
                find: (find || no_find).then_some(find),
                max_servers,
            };
            if let Some(shard) = shard_args.shard {
                let command = shard::Command::Sweep(overrides);
                return run_shard(&path, &args, shard, shard_args.resume, command);
            }
            let mut file = args.load(&path)?;
            args.print_trace(&file)?;
            let plan = sweep::SweepPlan::new(&mut file, &overrides)?;
            let options = args.options();
            let started = Instant::now();
            let result = sweep::run_sweep(&mut file, &plan, &options)?;
            let elapsed = started.elapsed();
            let dir = args
                .out
                .clone()
                .unwrap_or_else(|| report::default_output_dir(&format!("{}-sweep", result.name)));
            report::write_sweep(&dir, &result)?;
            if !args.quiet {
                println!("{}", report::sweep::sweep_text(&result));
                println!(
                    "wrote {} ({} points simulated in {:.1} s)",
                    dir.display(),
                    result.points.len(),
                    elapsed.as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Autoscale {
            scenario: path,
            study: args,
        } => {
            let mut file = args.load(&path)?;
            args.print_trace(&file)?;
            let options = args.options();
            let started = Instant::now();
            let comparison = autoscale::compare(&mut file, &options)?;
            let elapsed = started.elapsed();
            let dir = args.out.clone().unwrap_or_else(|| {
                report::default_output_dir(&format!("{}-autoscale", comparison.name))
            });
            report::write_autoscale(&dir, &comparison)?;
            if !args.quiet {
                println!("{}", report::autoscale::autoscale_text(&comparison));
                println!(
                    "wrote {} (2 fleets × {} runs simulated in {:.1} s)",
                    dir.display(),
                    comparison.fixed.runs,
                    elapsed.as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Grow {
            scenario: path,
            months,
            lead_time,
            headroom,
            forecast,
            owned,
            rented,
            slo_share,
            max_servers,
            study: args,
            shard: shard_args,
        } => {
            let overrides = grow::Overrides {
                months,
                lead_time,
                headroom,
                forecast,
                ownership: match (owned, rented) {
                    (true, _) => Some(grow::Ownership::Owned),
                    (_, true) => Some(grow::Ownership::Rented),
                    _ => None,
                },
                slo_share,
                max_servers,
            };
            if let Some(shard) = shard_args.shard {
                let command = shard::Command::Grow(overrides);
                return run_shard(&path, &args, shard, shard_args.resume, command);
            }
            let mut file = args.load(&path)?;
            args.print_trace(&file)?;
            let growth = grow::Growth::new(&mut file, &overrides)?;
            let options = args.options();
            let started = Instant::now();
            let result = grow::run_growth(&mut file, &growth, &options)?;
            let elapsed = started.elapsed();
            let dir = args
                .out
                .clone()
                .unwrap_or_else(|| report::default_output_dir(&format!("{}-grow", result.name)));
            report::write_growth(&dir, &result)?;
            if !args.quiet {
                println!("{}", report::grow::grow_text(&result));
                println!(
                    "wrote {} ({} studies simulated in {:.1} s)",
                    dir.display(),
                    result.studies,
                    elapsed.as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Merge {
            dirs,
            out,
            scenario,
            resume,
            threads,
            quiet,
        } => merge(
            &dirs,
            out,
            scenario.as_deref(),
            resume,
            options(threads, quiet),
            quiet,
        ),
        Command::Validate {
            file: path,
            out,
            horizon,
            fit,
            fit_on,
            threads,
            quiet,
        } => {
            let started = Instant::now();
            let file = validate::file::read(&path)?;
            let options = validate::Options {
                horizon,
                calibration: DEFAULTS,
                fit: match (fit, fit_on) {
                    (_, Some(subset)) => validate::FitTo::Rows(subset),
                    (true, None) => validate::FitTo::All,
                    (false, None) => validate::FitTo::Nothing,
                },
                threads: threads.map(|t| t as usize),
            };
            let validation = validate::validate(file, &options).map_err(|e| e.in_file(&path))?;
            let stem = path
                .file_stem()
                .map_or("measurements".into(), |s| s.to_string_lossy().into_owned());
            let dir =
                out.unwrap_or_else(|| report::default_output_dir(&format!("validate-{stem}")));
            report::write_validation(&dir, &path.display().to_string(), &validation)?;
            if !quiet {
                println!("{}", report::validation::validation_text(&validation));
                println!(
                    "wrote {} (validated in {:.1} s)",
                    dir.display(),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Fit {
            trace: path,
            format,
            lengths,
            skip_bad_rows,
        } => {
            let trace = Trace::read(&path, format, bad_rows(skip_bad_rows))?;
            let lengths = match lengths {
                Lengths::Auto => LengthModel::Auto,
                Lengths::Lognormal => LengthModel::LogNormal,
                Lengths::Quantiles => LengthModel::Quantiles,
            };
            let fitted = fit::fit_trace(&trace, lengths).map_err(|e| e.in_file(&path))?;
            print!("{}", fit::yaml::render(&fitted));
            Ok(())
        }
        Command::Check {
            scenario: path,
            skip_bad_rows,
        } => {
            let scenario = scenario::load(&path, bad_rows(skip_bad_rows))?.scenario(0)?;
            print_check(&scenario);
            Ok(())
        }
        Command::Estimate {
            scenario: path,
            results,
            utilization,
            requests_per_day,
            skip_bad_rows,
        } => {
            let scenario = scenario::load(&path, bad_rows(skip_bad_rows))?.scenario(0)?;
            let options = estimate::Options {
                utilization,
                requests_per_day,
            };
            let estimate = estimate::estimate(&scenario, &options).map_err(|e| e.in_file(&path))?;
            // Read the results before printing anything, so that a bad folder prints only
            // its error.
            let comparison = results
                .map(|dir| estimate::read_summary(&dir))
                .transpose()?
                .map(|simulated| estimate::compare(&estimate, simulated));
            print!("{}", estimate::render::estimate_text(&estimate));
            if let Some(comparison) = comparison {
                println!();
                print!("{}", estimate::render::comparison_text(&comparison));
            }
            Ok(())
        }
        Command::Catalog { only, sources } => {
            let catalog = Catalog::builtin();
            if !matches!(only, Some(CatalogPart::Models)) {
                print_gpus();
                if sources {
                    print_sources(catalog.gpus.iter().map(|g| (&g.id, &g.source)));
                }
            }
            if only.is_none() {
                println!();
            }
            if !matches!(only, Some(CatalogPart::Gpus)) {
                print_models();
                if sources {
                    print_sources(catalog.models.iter().map(|m| (&m.id, &m.source)));
                }
            }
            Ok(())
        }
    }
}

/// Prints a study of `runs` runs: run 0 in full when it is the only one.
fn print_study(runs: u64, (doc, run): &(report::StudyDocument, report::RunDocument)) {
    if runs == 1 {
        println!("{}", report::markdown::summary_text(run));
    } else {
        println!("{}", report::markdown::study_text(doc));
    }
}

/// Merges the shard folders `dirs` and writes what the command they were cut from writes.
fn merge(
    dirs: &[PathBuf],
    out: Option<PathBuf>,
    scenario: Option<&std::path::Path>,
    resume: bool,
    options: Options,
    quiet: bool,
) -> Result<(), Error> {
    let started = Instant::now();
    let mut merge = shard::Merge::open(dirs, scenario, resume)?;
    let missing = merge.missing();
    if missing > 0 && !quiet {
        println!(
            "simulating here the {missing} of {} runs no shard folder holds",
            merge.units()
        );
    }
    let folder = |name: &str, suffix: &str| {
        out.clone()
            .unwrap_or_else(|| report::default_output_dir(&format!("{name}{suffix}")))
    };
    let dir = match merge.run(&options)? {
        shard::Merged::Study(study) => {
            let dir = folder(&study.first_scenario.name, "");
            let written = report::write_study(&dir, &study, Some(&CANCEL))?;
            if !quiet {
                print_study(study.runs, &written);
            }
            dir
        }
        shard::Merged::Sweep(result) => {
            let dir = folder(&result.name, "-sweep");
            report::write_sweep(&dir, &result)?;
            if !quiet {
                println!("{}", report::sweep::sweep_text(&result));
            }
            dir
        }
        shard::Merged::Growth(result) => {
            let dir = folder(&result.name, "-grow");
            report::write_growth(&dir, &result)?;
            if !quiet {
                println!("{}", report::grow::grow_text(&result));
            }
            dir
        }
    };
    if !quiet {
        println!(
            "wrote {} (`fleetsim {}` merged from {} shard folders, {} runs, in {:.1} s)",
            dir.display(),
            merge.command().name(),
            dirs.len(),
            merge.units(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn parse_duration(text: &str) -> Result<Seconds, String> {
    match Seconds::parse(text) {
        Ok(s) if s.0 > 0.0 => Ok(s),
        Ok(_) => Err(format!("expected a positive duration, got `{text}`")),
        Err(e) => Err(e),
    }
}

fn parse_subset(text: &str) -> Result<Subset, String> {
    Subset::parse(text).map_err(|e| e.message)
}

fn print_check(s: &fleetsim::scenario::Scenario) {
    let r = &s.replica;
    let m = &s.memory;
    println!("{}: valid", s.name);
    println!(
        "  fleet    {}{} servers × {} {} = {} GPUs → {} replicas of tp {} × pp {}",
        if s.autoscaling.is_some() {
            "up to "
        } else {
            ""
        },
        s.fleet.servers,
        s.fleet.gpus_per_server,
        r.gpu.name,
        s.fleet.gpus(),
        s.fleet.replicas,
        r.parallelism.tensor,
        r.parallelism.pipeline
    );
    if let Some(a) = &s.autoscaling {
        println!("  scaling  {a}");
    }
    println!(
        "  memory   per GPU {} usable = {} weights + {} activations + {} KV cache",
        m.usable_per_gpu, m.weights_per_gpu, m.activations_per_gpu, m.kv_cache_per_gpu
    );
    println!(
        "  KV cache {} tokens per replica ({} blocks of {}){}",
        s.kv_blocks_per_replica * u64::from(s.kv_block_tokens),
        s.kv_blocks_per_replica,
        s.kv_block_tokens,
        s.prefix_caching.as_ref().map_or(String::new(), |p| format!(
            "; prefix caching of {}-token prompt blocks",
            p.block_tokens()
        ))
    );
    println!(
        "  traffic  {} over {:.1} h",
        s.workload.arrivals,
        s.horizon.0 / 3600.0
    );
    if let Some(replay) = s.workload.replay() {
        let trace = report::document::TraceInfo::of(replay);
        println!("  trace    {}", report::markdown::trace_rows(&trace));
    }
}

fn print_sources<'a>(entries: impl Iterator<Item = (&'a String, &'a String)>) {
    println!("\nsources:");
    for (id, source) in entries {
        println!("  {id}: {source}");
    }
}

fn print_gpus() {
    println!(
        "{:<10} {:<16} {:>9} {:>11} {:>12} {:>12} {:>7} {:>7} {:>11}",
        "id", "name", "memory", "bandwidth", "bf16", "fp8", "TDP", "idle", "scale-up"
    );
    for g in &Catalog::builtin().gpus {
        println!(
            "{:<10} {:<16} {:>9} {:>11} {:>12} {:>12} {:>7} {:>7} {:>11}",
            g.id,
            g.name,
            g.memory.to_string(),
            si(g.memory_bandwidth.0, "B/s"),
            si(g.tensor.bf16.0, "FLOPS"),
            g.tensor.fp8.map_or("–".into(), |f| si(f.0, "FLOPS")),
            format!("{:.0} W", g.tdp.0),
            format!("{:.0} W", g.idle_power.0),
            si(g.scale_up_link.0, "B/s"),
        );
    }
}

/// A parameter count for people: `124M`, `8.03B`, `1.81T`.
fn params(count: f64) -> String {
    if count >= 1e12 {
        format!("{:.2}T", count / 1e12)
    } else if count >= 1e9 {
        format!("{:.2}B", count / 1e9)
    } else {
        format!("{:.0}M", count / 1e6)
    }
}

fn print_models() {
    println!(
        "{:<15} {:<34} {:>10} {:>10} {:>7} {:>7} {:>9} {:>13} {:>9}",
        "id",
        "name",
        "params",
        "active",
        "layers",
        "hidden",
        "kv heads",
        "KV/token bf16",
        "context"
    );
    for m in &Catalog::builtin().models {
        let shape = ModelShape::of(m);
        let kv = fleetsim::units::Bytes(shape.kv_elements_per_token() * 2.0);
        println!(
            "{:<15} {:<34} {:>10} {:>10} {:>7} {:>7} {:>9} {:>13} {:>9}",
            m.id,
            m.name,
            params(shape.total_params()),
            params(shape.active_params()),
            m.layers,
            m.hidden,
            if m.mla.is_some() {
                "MLA".into()
            } else {
                m.kv_heads.to_string()
            },
            kv.to_string(),
            m.context
        );
    }
}
