//! What the integration tests share: running the binary on scenarios written for the test.
//! Each test file is its own crate and uses part of this module.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `fleetsim` with `args` from the repository root, so shipped scenarios resolve.
pub fn fleetsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Runs `fleetsim COMMAND SCENARIO --out OUT EXTRA…`.
pub fn fleetsim_into(command: &str, scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        command,
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    fleetsim(&args)
}

/// Writes scenario `text` to `dir/name` and returns its path.
pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}
