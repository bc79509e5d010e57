//! What the integration tests share: running the binary.

use std::process::{Command, Output};

/// Runs `fleetsim` with `args` from the repository root, so shipped scenarios resolve.
pub fn fleetsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}
