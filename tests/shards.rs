//! Shards and merge: a study, a sweep's grid and a growth plan cut into shards that run as
//! separate processes and merge into the bytes of one process; the shards a merge refuses;
//! runs missing or held twice; and resuming, of a shard and of a merge.

mod common;
use common::{files, fleetsim, uncertain_scenario, write_scenario};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A study of seven runs with uncertain inputs.
fn uncertain() -> String {
    uncertain_scenario("10m", "2m", 7)
}

/// Three fleet sizes at two loads, three runs each, crossing the SLO boundary; and a month
/// by month plan over the same fleet.
const SMALL: &str = "
name: small
study: {seed: 5, horizon: 3m, timeseries_interval: 1m, runs: 3}
workload:
  rate: 60/s
  prompt_tokens: {lognormal: {median: 400, sigma: 0.6}, max: 3000}
  output_tokens: {lognormal: {median: 120, sigma: 0.5}, max: 600}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 1}
fleet: {servers: 2, router: least-outstanding-requests}
failures: {enabled: false}
perf: {memory_efficiency: {uniform: [0.65, 0.75]}}
slo: {ttft_p99: 500ms, tpot_p99: 30ms}
sweep:
  servers: {from: 1, to: 3}
  load: [0.5, 1]
  slo_share: 0.6
growth:
  start: 2027-01
  months: 3
  monthly: {uniform: [10%, 30%]}
  plan: {lead_time: 1, slo_share: 0.6}
";

/// `fleetsim ARGS…` started, not waited for.
fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs shards `0/count` … `count-1/count` of `command` on `scenario` as separate processes
/// at once, into `root/shards/I`; returns the shard folders.
fn shards(command: &str, scenario: &Path, root: &Path, count: u64) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = (0..count)
        .map(|i| root.join("shards").join(i.to_string()))
        .collect();
    let children: Vec<Child> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let shard = format!("{i}/{count}");
            start(&[
                command,
                path(scenario),
                "--shard",
                &shard,
                "--out",
                path(dir),
                "--threads",
                "1",
                "--quiet",
            ])
        })
        .collect();
    for child in children {
        succeeded(child.wait_with_output().unwrap());
    }
    dirs
}

/// `fleetsim merge DIRS… --out OUT EXTRA…`.
fn merge(dirs: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(|d| path(d)));
    args.extend(["--out", path(out), "--quiet"]);
    args.extend_from_slice(extra);
    fleetsim(&args)
}

/// `fleetsim COMMAND SCENARIO --out OUT --quiet EXTRA…`, required to succeed.
fn whole(command: &str, scenario: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![command, path(scenario), "--out", path(out), "--quiet"];
    args.extend_from_slice(extra);
    succeeded(fleetsim(&args));
}

/// Checks that `a` and `b` hold the same files, byte for byte.
fn same_files(a: &Path, b: &Path) {
    let (a, b) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs");
    }
}

#[test]
fn three_shards_of_a_study_merge_into_the_bytes_of_one_process() {
    let root = tempfile::tempdir().unwrap();
    let scenario = write_scenario(root.path(), "uncertain.yaml", &uncertain());
    let single = root.path().join("single");
    whole("run", &scenario, &single, &["--threads", "2"]);
    let dirs = shards("run", &scenario, root.path(), 3);
    let merged = root.path().join("merged");
    succeeded(merge(&dirs, &merged, &[]));
    same_files(&single, &merged);
    assert!(files(&merged).len() > 10, "every file, charts included");

    // The shards hold runs 0, 3, 6 / 1, 4 / 2, 5: round-robin, with run 0's detail.
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dirs[1].join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["units"], serde_json::json!(["0-1", "0-4"]));
    assert_eq!(
        manifest["shard"],
        serde_json::json!({"index": 1, "count": 3})
    );
    assert_eq!(manifest["seed"], 11);
    assert_eq!(manifest["command"], "run");
    assert_eq!(manifest["scenario"]["sha256"].as_str().unwrap().len(), 64);
    let unit: serde_json::Value =
        serde_json::from_slice(&fs::read(dirs[0].join("units/0-0.json")).unwrap()).unwrap();
    assert!(unit["record"]["detail"]["summary"].is_object());
    assert!(!dirs[1].join("units/0-0.json").exists());
}

#[test]
fn shards_of_a_sweep_grid_and_of_a_growth_plan_merge_into_the_bytes_of_one_process() {
    let root = tempfile::tempdir().unwrap();
    let scenario = write_scenario(root.path(), "small.yaml", SMALL);
    for (command, count) in [("sweep", 4), ("grow", 3)] {
        let here = root.path().join(command);
        let single = here.join("single");
        whole(command, &scenario, &single, &[]);
        let dirs = shards(command, &scenario, &here, count);
        let merged = here.join("merged");
        succeeded(merge(&dirs, &merged, &["--threads", "2"]));
        same_files(&single, &merged);
    }
}

#[test]
fn merge_refuses_shards_of_another_scenario_seed_or_release() {
    let root = tempfile::tempdir().unwrap();
    let scenario = write_scenario(root.path(), "uncertain.yaml", &uncertain());
    let dirs = shards("run", &scenario, root.path(), 2);
    let out = root.path().join("merged");
    let refused = |dirs: &[PathBuf], field: &str, extra: &[&str]| {
        let output = merge(dirs, &out, extra);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(field),
            "{field}: {}",
            stderr(&output)
        );
        assert!(!out.exists(), "nothing is written");
        stderr(&output)
    };

    // Another seed, and another scenario: a shard cut from them is named, with its field.
    let other = root.path().join("other");
    let shard = |scenario: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            path(scenario),
            "--shard",
            "1/2",
            "--out",
            path(&other),
        ];
        args.extend(["--quiet"]);
        args.extend_from_slice(extra);
        succeeded(fleetsim(&args));
    };
    shard(&scenario, &["--seed", "12"]);
    let message = refused(&[dirs[0].clone(), other.clone()], "seed", &[]);
    assert!(message.contains("other/manifest.json"), "{message}");
    assert!(message.contains("seed 12, but"), "{message}");
    let edited = write_scenario(
        root.path(),
        "edited.yaml",
        &format!("{}# edited: the same study, other bytes\n", uncertain()),
    );
    shard(&edited, &[]);
    refused(&[dirs[0].clone(), other.clone()], "scenario.sha256", &[]);
    shard(&scenario, &["--single-step"]);
    refused(&[dirs[0].clone(), other.clone()], "--single-step", &[]);

    // Another release: the manifest says which.
    let manifest = dirs[1].join("manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    let version = format!("\"fleetsim_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&version));
    fs::write(
        &manifest,
        text.replace(&version, "\"fleetsim_version\": \"0.0.1\""),
    )
    .unwrap();
    let message = refused(&dirs, "fleetsim_version", &[]);
    assert!(message.contains("written by fleetsim 0.0.1"), "{message}");
    fs::write(&manifest, text).unwrap();

    // A folder that is not a shard.
    let nowhere = [dirs[0].clone(), root.path().join("nowhere")];
    let message = refused(&nowhere, "nowhere", &[]);
    assert!(message.contains("no such shard folder"), "{message}");

    // The scenario changed after the shards were cut: refused, unless the original is
    // given with --scenario.
    let original = write_scenario(root.path(), "original.yaml", &uncertain());
    fs::write(&scenario, uncertain().replace("seed: 11", "seed: 13")).unwrap();
    refused(&dirs, "not the scenario the shards were cut from", &[]);
    let message = refused(&dirs, "its SHA-256", &["--scenario", path(&edited)]);
    assert!(message.contains("edited.yaml"), "{message}");
    succeeded(merge(&dirs, &out, &["--scenario", path(&original)]));
}

#[test]
fn merge_reports_missing_and_duplicated_runs_and_resumes_the_missing() {
    let root = tempfile::tempdir().unwrap();
    let scenario = write_scenario(root.path(), "uncertain.yaml", &uncertain());
    let single = root.path().join("single");
    whole("run", &scenario, &single, &[]);
    let dirs = shards("run", &scenario, root.path(), 3);
    let out = root.path().join("merged");

    let missing = merge(&dirs[..2], &out, &[]);
    assert_eq!(missing.status.code(), Some(2));
    let message = stderr(&missing);
    assert!(
        message.contains("2 of 7 runs are in no shard folder given"),
        "{message}"
    );
    assert!(
        message.contains("shard 2/3: point 0 (the scenario as written): runs 2, 5"),
        "{message}"
    );
    assert!(!out.exists());

    // A unit file lost from a shard folder is missing too.
    let lost = root.path().join("lost");
    copy_dir(&dirs[1], &lost);
    fs::remove_file(lost.join("units/0-4.json")).unwrap();
    let output = merge(&[dirs[0].clone(), lost, dirs[2].clone()], &out, &[]);
    assert!(stderr(&output).contains("shard 1/3: point 0 (the scenario as written): run 4"));

    let copy = root.path().join("copy");
    copy_dir(&dirs[1], &copy);
    let twice = merge(
        &[dirs[0].clone(), dirs[1].clone(), copy, dirs[2].clone()],
        &out,
        &[],
    );
    assert_eq!(twice.status.code(), Some(2));
    let message = stderr(&twice);
    assert!(
        message.contains("runs held by more than one shard folder"),
        "{message}"
    );
    assert!(
        message.contains("copy: point 0 (the scenario as written): runs 1, 4"),
        "{message}"
    );

    // With --resume, the merge simulates what no shard holds: the same bytes.
    let output = fleetsim(&[
        "merge",
        path(&dirs[0]),
        path(&dirs[2]),
        "--out",
        path(&out),
        "--resume",
    ]);
    let printed = String::from_utf8_lossy(&succeeded(output).stdout).into_owned();
    assert!(
        printed.contains("simulating here the 2 of 7 runs"),
        "{printed}"
    );
    same_files(&single, &out);
}

#[test]
fn bad_shards_are_refused_before_anything_runs() {
    let root = tempfile::tempdir().unwrap();
    let scenario = write_scenario(root.path(), "small.yaml", SMALL);
    let out = root.path().join("out");
    for (args, expected) in [
        (vec!["--shard", "3/3"], "from 0 to 2"),
        (vec!["--shard", "1/0"], "expected 1 to"),
        (vec!["--shard", "-1/3"], "0-based index"),
        (vec!["--shard", "two/3"], "0-based index"),
        (vec!["--shard", "1/2/3"], "0-based index"),
        (vec!["--shard", "1"], "0-based index"),
        (vec!["--resume"], "--shard"),
    ] {
        let mut all = vec!["run", path(&scenario), "--out", path(&out)];
        all.extend(args);
        let output = fleetsim(&all);
        assert_eq!(output.status.code(), Some(2), "{all:?}");
        assert!(
            stderr(&output).contains(expected),
            "{all:?}: {}",
            stderr(&output)
        );
    }
    let output = fleetsim(&["run", path(&scenario), "--shard", "0/2"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--out"), "{}", stderr(&output));

    // The capacity search decides its fleets as it goes: it cannot be cut.
    for find in [&["--find"][..], &[]] {
        let text = if find.is_empty() {
            SMALL.replace(
                "slo_share: 0.6\ngrowth",
                "slo_share: 0.6\n  search: {}\ngrowth",
            )
        } else {
            SMALL.to_string()
        };
        let scenario = write_scenario(root.path(), "search.yaml", &text);
        let mut args = vec![
            "sweep",
            path(&scenario),
            "--shard",
            "0/2",
            "--out",
            path(&out),
        ];
        args.extend_from_slice(find);
        let output = fleetsim(&args);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let field = if find.is_empty() {
            "sweep.search"
        } else {
            "--find"
        };
        assert!(
            stderr(&output).contains(&format!("{field}: the capacity search cannot be cut")),
            "{}",
            stderr(&output)
        );
    }
    assert!(!out.exists(), "nothing is written");
    let leftovers: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // --no-find leaves the scenario's search out: the grid alone is cut.
    let grid = root.path().join("grid");
    let search = root.path().join("search.yaml");
    let grid_args = [
        "sweep",
        path(&search),
        "--shard",
        "0/1",
        "--out",
        path(&grid),
    ];
    succeeded(fleetsim(
        &[&grid_args[..], &["--no-find", "--quiet"]].concat(),
    ));
    assert!(grid.join("manifest.json").is_file());
    let both = fleetsim(&[&grid_args[..], &["--no-find", "--find"]].concat());
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn a_killed_shard_resumes_where_it_stopped() {
    let root = tempfile::tempdir().unwrap();
    // Long enough to be killed halfway: sixty runs one after another.
    let text = uncertain().replace("runs: 7", "runs: 60");
    let scenario = write_scenario(root.path(), "long.yaml", &text);
    let dir = root.path().join("shards/0");
    let other_dir = root.path().join("shards/1");
    let shard = |extra: &[&'static str]| -> Vec<&str> {
        let mut args = vec![
            "run",
            path(&scenario),
            "--shard",
            "0/2",
            "--out",
            path(&dir),
            "--threads",
            "1",
        ];
        args.extend_from_slice(extra);
        args
    };

    let mut child = start(&shard(&["--quiet"]));
    let staged = root.path().join("shards/.0.partial/units");
    let started = Instant::now();
    while count_json(&staged) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no unit written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(!dir.exists(), "a killed shard leaves no shard folder");
    let finished = count_json(&staged);
    assert!(
        finished < 30,
        "killed before its 30 runs were done: {finished}"
    );

    let resumed = succeeded(fleetsim(&shard(&["--resume"])));
    let printed = String::from_utf8_lossy(&resumed.stdout).into_owned();
    assert!(
        printed.contains(&format!("{finished} kept from an earlier attempt")),
        "{printed}"
    );
    assert!(!staged.exists());
    assert_eq!(count_json(&dir.join("units")), 30);

    // Resuming a finished shard does nothing; resuming it as another is refused.
    let again = succeeded(fleetsim(&shard(&["--resume"])));
    assert!(String::from_utf8_lossy(&again.stdout).contains("all 30 runs already in"));
    let mut other = shard(&["--resume"]);
    other.extend(["--seed", "3"]);
    let refused = fleetsim(&other);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("cannot resume"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("seed"), "{}", stderr(&refused));

    let mut rest = shard(&["--quiet"]);
    rest[3] = "1/2";
    rest[5] = path(&other_dir);
    succeeded(fleetsim(&rest));
    let single = root.path().join("single");
    whole("run", &scenario, &single, &[]);
    let merged = root.path().join("merged");
    succeeded(merge(&[dir, other_dir], &merged, &[]));
    same_files(&single, &merged);
}

/// The `.json` files in `dir` (0 when it does not exist).
fn count_json(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                !name.starts_with('.') && name.ends_with(".json")
            })
            .count()
    })
}

/// Copies the folder `from` to `to`, subfolders included.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}
