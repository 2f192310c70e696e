//! The drop-in library exports every name of MIT's `libgssapi_krb5.so.2` under MIT's version node
//! (programs bind all of them at start-up: one missing name and they do not start), data objects
//! of the same size (programs copy-relocate them), and loads into unmodified programs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{compile_c, dropin_dir, dynamic_symbols, output, shared_object, MIT_LIBRARY};

#[test]
fn every_name_mit_exports_is_exported_with_the_same_version_and_size() {
    let mit = dynamic_symbols(Path::new(MIT_LIBRARY));
    let ours: BTreeMap<String, (String, String, u64)> =
        dynamic_symbols(shared_object()).into_iter().map(|(n, v, k, s)| (n, (v, k, s))).collect();
    let mit_names: Vec<_> = mit.iter().filter(|(_, v, _, _)| v == "gssapi_krb5_2_MIT").collect();
    assert!(mit_names.len() > 150, "MIT's library lists only {} names", mit_names.len());
    let mut problems = Vec::new();
    for (name, version, kind, size) in &mit_names {
        match ours.get(name.as_str()) {
            None => problems.push(format!("{name}: missing")),
            Some((v, _, _)) if v != version => problems.push(format!("{name}: version {v}, MIT's {version}")),
            Some((_, k, _)) if k != kind => problems.push(format!("{name}: {k}, MIT's {kind}")),
            Some((_, _, s)) if kind == "DO" && s != size => problems.push(format!("{name}: {s} bytes, MIT's {size}")),
            _ => {}
        }
    }
    // Nothing of the machinery (Rust's standard library, SQLite, ktix) leaks out.
    for (name, (version, _, _)) in &ours {
        if !mit_names.iter().any(|(n, _, _, _)| n == name) {
            problems.push(format!("{name} ({version}): exported, but not by MIT"));
        }
    }
    assert!(problems.is_empty(), "export list differs from {MIT_LIBRARY}:\n{}", problems.join("\n"));
    let functions = mit_names.iter().filter(|(_, _, k, _)| k == "DF").count();
    let objects = mit_names.iter().filter(|(_, _, k, _)| k == "DO").count();
    assert!(functions > 100 && objects > 60, "{functions} functions, {objects} objects");
}

#[test]
fn the_library_has_mits_soname_and_needs_no_mit_library() {
    let out = output(Command::new("readelf").arg("-d").arg(shared_object()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Library soname: [libgssapi_krb5.so.2]"), "{text}");
    for mit in ["libkrb5.so", "libk5crypto", "libkrb5support", "libcom_err"] {
        assert!(!text.contains(mit), "the library needs {mit}:\n{text}");
    }
}

/// A C program built against MIT's header and library, run on ours: the OID data objects are
/// copy-relocated and compared by content, calls it does not implement say so through
/// gss_display_status, no thread is started by loading, and a forked child works.
const PROBE: &str = r#"
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

static void show(OM_uint32 major, OM_uint32 minor) {
    OM_uint32 m, ctx = 0;
    gss_buffer_desc text;
    do {
        gss_display_status(&m, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &text);
        printf("major: %.*s\n", (int)text.length, (char *)text.value);
        gss_release_buffer(&m, &text);
    } while (ctx != 0);
    gss_display_status(&m, minor, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &text);
    printf("minor: %.*s\n", (int)text.length, (char *)text.value);
    gss_release_buffer(&m, &text);
}

int main(void) {
    OM_uint32 minor, major;
    gss_buffer_desc s;
    printf("threads: %d\n", threads());
    major = gss_oid_to_str(&minor, GSS_C_NT_HOSTBASED_SERVICE, &s);
    printf("hostbased: %u %s\n", major, (char *)s.value);
    gss_release_buffer(&minor, &s);
    gss_OID_desc copy = { 9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };
    printf("krb5 equal: %d\n", gss_oid_equal(&copy, gss_mech_krb5));
    gss_OID_set mechs = GSS_C_NO_OID_SET;
    int present = 0;
    major = gss_indicate_mechs(&minor, &mechs);
    gss_test_oid_set_member(&minor, &copy, mechs, &present);
    printf("indicate_mechs: %u, krb5 present %d, %zu mechanisms\n", major, present, mechs->count);
    gss_release_oid_set(&minor, &mechs);
    major = gss_pseudo_random(&minor, GSS_C_NO_CONTEXT, 0, GSS_C_NO_BUFFER, 16, &s);
    printf("pseudo_random: 0x%08x\n", major);
    show(major, minor);
    pid_t child = fork();
    if (child == 0) {
        gss_OID_set set = GSS_C_NO_OID_SET;
        _exit(gss_indicate_mechs(&minor, &set) == GSS_S_COMPLETE && set->count == 2 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("threads: %d\n", threads());
    return 0;
}
"#;

#[test]
fn a_c_program_built_against_mits_header_runs_on_the_drop_in() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let exe = compile_c("probe", PROBE, dir.path());
    let run = |lib_dir: Option<&Path>| {
        let mut cmd = Command::new(&exe);
        if let Some(d) = lib_dir {
            cmd.env("LD_LIBRARY_PATH", d);
        }
        let out = output(&mut cmd);
        assert!(out.status.success(), "probe failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = run(Some(dropin_dir()));
    let expect = [
        "threads: 1\n",
        "hostbased: 0 { 1 2 840 113554 1 2 1 4 }\n",
        "krb5 equal: 1\n",
        "indicate_mechs: 0, krb5 present 1, 2 mechanisms\n",
        "pseudo_random: 0x00100000\n",
        "major: The operation or option is not available or unsupported\n",
        "child: 0\n",
    ];
    for line in expect {
        assert!(ours.contains(line), "{line:?} not in the output on the drop-in:\n{ours}");
    }
    assert!(ours.contains("minor: gss_pseudo_random is not implemented by libktix"), "{ours}");
    assert_eq!(ours.matches("threads: 1\n").count(), 2, "{ours}");
    // MIT's library gives the same answers where they are MIT's (the OID text and comparison).
    let mit = run(None);
    assert!(mit.contains("hostbased: 0 { 1 2 840 113554 1 2 1 4 }\n") && mit.contains("krb5 equal: 1\n"), "{mit}");
}
