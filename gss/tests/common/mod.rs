//! Shared by the tests of the drop-in library: building it (scripts/build-gss.sh), compiling small
//! C programs against MIT's `<gssapi/gssapi.h>`, running programs with one library or the other.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// MIT's library, the reference.
pub const MIT_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/libgssapi_krb5.so.2";

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("gss/ has a parent").to_path_buf()
}

/// Builds the drop-in library (once per test binary) and returns its path; its directory is what
/// goes on `LD_LIBRARY_PATH`.
pub fn shared_object() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new("bash")
            .arg(workspace().join("scripts/build-gss.sh"))
            .output()
            .expect("run scripts/build-gss.sh");
        assert!(out.status.success(), "scripts/build-gss.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(path.is_file(), "scripts/build-gss.sh printed {path:?}, which is not a file");
        path
    })
}

/// The directory of the drop-in library.
pub fn dropin_dir() -> &'static Path {
    shared_object().parent().expect("the library is in a directory")
}

/// Compiles `source` (C, against MIT's header, linked with `-lgssapi_krb5`) into `dir/name`.
pub fn compile_c(name: &str, source: &str, dir: &Path) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write the C source");
    let exe = dir.join(name);
    let out = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(["-lgssapi_krb5"])
        .output()
        .expect("run cc");
    assert!(out.status.success(), "cc {name}.c failed:\n{}", String::from_utf8_lossy(&out.stderr));
    exe
}

/// Runs `cmd` and returns its output, failing the test when it cannot start.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// `objdump -T FILE`: the defined dynamic symbols as (name, version, kind DF/DO, size).
pub fn dynamic_symbols(file: &Path) -> Vec<(String, String, String, u64)> {
    let out = output(Command::new("objdump").arg("-T").arg(file));
    assert!(out.status.success(), "objdump -T {file:?} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            // 000000000000fb50 g    DF .text	0000000000000917  gssapi_krb5_2_MIT gss_accept_sec_context
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 || f.contains(&"*UND*") {
                return None;
            }
            let kind = f.iter().find(|w| **w == "DF" || **w == "DO")?.to_string();
            let size = u64::from_str_radix(f[f.len() - 3], 16).ok()?;
            Some((f[f.len() - 1].to_string(), f[f.len() - 2].to_string(), kind, size))
        })
        .collect()
}
