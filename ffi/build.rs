//! Gives the shared library a versioned SONAME (`libktix.so.0`) on ELF platforms, so programs
//! linked against it record the ABI major version.

/// The ABI major version: bump when a released C signature changes incompatibly.
const ABI_MAJOR: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libktix.so.{ABI_MAJOR}");
    }
}
