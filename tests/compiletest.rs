//! Compile-fail and compile-pass proof, with trybuild.
//!
//! rustc's messages change between releases, so the `.stderr` snapshots are
//! pinned to one toolchain: [`PINNED`]. On another toolchain the test is
//! skipped with a message, unless `COSHARE_UI_REQUIRED=1` is set (CI sets it),
//! in which case it fails. Refresh snapshots with `TRYBUILD=overwrite` and
//! review the diff of every `.stderr`.

use std::process::Command;

/// The toolchain the snapshots were taken with.
const PINNED: &str = "rustc 1.95.";

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("run rustc --version");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ui() {
    let version = rustc_version();
    if !version.starts_with(PINNED) {
        let required = std::env::var("COSHARE_UI_REQUIRED").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "UI snapshots are pinned to {PINNED}x, but this is {version}; \
             COSHARE_UI_REQUIRED=1 forbids skipping"
        );
        eprintln!("skipping UI tests: snapshots are pinned to {PINNED}x, this is {version}");
        return;
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/core/*.rs");
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/derive/*.rs");
    t.compile_fail("tests/ui/driver/*.rs");
}
