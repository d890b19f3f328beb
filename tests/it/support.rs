//! Shared helpers: the binary, temp folders, fixture writers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The machimap binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_machimap"))
}

/// Run machimap with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("machimap runs")
}

/// Run `machimap ingest --report json`, returning (exit code, parsed JSON).
pub fn ingest_json(
    db: &Path,
    dataset: &str,
    files: &[&Path],
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let mut args: Vec<String> = vec![
        "ingest".into(),
        "--db".into(),
        db.display().to_string(),
        "--dataset".into(),
        dataset.into(),
        "--report".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = Command::new(bin())
        .args(&args)
        .output()
        .expect("machimap runs");
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// Issues of `code` in a JSON report.
pub fn issues<'a>(v: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    v["report"]["issues"]
        .as_array()
        .map(|a| a.iter().filter(|i| i["code"] == code).collect())
        .unwrap_or_default()
}

/// Encode text as Shift_JIS (CP932) bytes.
pub fn sjis(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!bad, "fixture text not representable in CP932");
    b.into_owned()
}

/// A fresh temp folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The sample city written once per test process into a shared temp folder.
pub fn sample_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("machimap-it-sample-{}", std::process::id()));
        let out = run(&["sample", "--out", d.to_str().expect("utf-8 path")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        d
    })
}
