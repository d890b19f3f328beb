//! Copies PROJ's `proj.db` (built by proj-sys from source) into OUT_DIR so `crs.rs` can embed it:
//! a machimap binary copied to another machine then still finds its CRS database.
#![allow(
    clippy::print_stdout,
    reason = "a build script talks to cargo on standard output"
)]

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dest = out.join("proj.db");
    // OUT_DIR = <target>/<profile>/build/machimap-<hash>/out; proj-sys lives beside it.
    let build_dir = out.parent().and_then(Path::parent);
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    if let Some(dir) = build_dir.and_then(|d| std::fs::read_dir(d).ok()) {
        for e in dir.flatten() {
            if !e.file_name().to_string_lossy().starts_with("proj-sys-") {
                continue;
            }
            let db = e.path().join("out/share/proj/proj.db");
            if let Ok(m) = db.metadata().and_then(|m| m.modified()) {
                if best.as_ref().is_none_or(|(t, _)| m > *t) {
                    best = Some((m, db));
                }
            }
        }
    }
    match best {
        Some((_, db)) => {
            println!("cargo:rerun-if-changed={}", db.display());
            std::fs::copy(&db, &dest).expect("copy proj.db");
        }
        None => {
            // A system PROJ: it knows where its own proj.db is; embed nothing.
            std::fs::write(&dest, b"").expect("write empty proj.db");
        }
    }
}
