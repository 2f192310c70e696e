//! Gives the shared library a versioned SONAME (`libktix.so.0`) on ELF platforms, so programs
//! linked against it record the ABI major version, and puts the link `libktix.so.0 -> libktix.so`
//! beside the library in the target directory, so that programs built in the tree against
//! `target/PROFILE/libktix.so` find the name they record (`LD_LIBRARY_PATH=target/PROFILE`)
//! without a manual step. (The link may dangle for a moment: cargo links the library after this
//! script has run.)

use std::path::Path;

/// The ABI major version: bump when a released C signature changes incompatibly.
const ABI_MAJOR: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libktix.so.{ABI_MAJOR}");
        soname_link();
    }
}

/// `TARGET/PROFILE/libktix.so.0 -> libktix.so`: OUT_DIR is `TARGET/PROFILE/build/ktix-ffi-HASH/out`.
#[cfg(unix)]
fn soname_link() {
    let Some(out) = std::env::var_os("OUT_DIR") else { return };
    let Some(profile_dir) = Path::new(&out).ancestors().nth(3) else { return };
    let link = profile_dir.join(format!("libktix.so.{ABI_MAJOR}"));
    if std::fs::read_link(&link).is_ok_and(|t| t == Path::new("libktix.so")) {
        return;
    }
    // Made under a temporary name and renamed over any previous file: atomic for parallel builds.
    let tmp = profile_dir.join(format!(".libktix.so.{ABI_MAJOR}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if let Err(e) = std::os::unix::fs::symlink("libktix.so", &tmp).and_then(|()| std::fs::rename(&tmp, &link)) {
        println!("cargo:warning=could not make {}: {e}", link.display());
    }
}

#[cfg(not(unix))]
fn soname_link() {}
