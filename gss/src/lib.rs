//! `libgssapi_krb5.so.2` on libktix: MIT krb5's GSS-API C names (RFC 2744 and MIT's
//! extensions), each a thin translation over [`ktix::gss`], so that a program built against
//! MIT's library runs on libktix unmodified with this library's directory on `LD_LIBRARY_PATH`.
//!
//! The crate is a static library; `scripts/build-gss.sh` links it into the shared object with
//! the version script `gss/exports.map`, which puts every name under MIT's version node
//! `gssapi_krb5_2_MIT` (a Rust cdylib cannot carry one). `gss/tests/exports.rs` checks the
//! result against the system's MIT library name by name.
//!
//! | file | holds |
//! |---|---|
//! | `types` | the C types of `<gssapi/gssapi.h>`, the exported OID data objects |
//! | `boundary` | every call's frame: minor status, the thread's last error, panics stopped |
//! | `handles` | names, credentials and contexts as tagged Box pointers |
//! | `mem` | malloc'd buffers, OIDs and OID sets handed to C |
//! | `calls` | the RFC 2744 calls over `ktix::gss`: names, credentials, contexts, per-message tokens |
//! | `support` | buffers, OIDs, OID sets, mechanisms, `gss_display_status` |
//! | `unavailable` | the exported calls that answer `GSS_S_UNAVAILABLE` |
//!
//! Nothing runs at load time: no constructor, no thread. State is per call or per handle, plus
//! the per-thread last error, so a forked child (PostgreSQL's backends, Apache's workers) starts
//! from a consistent copy.
#![allow(clippy::missing_safety_doc)] // the C contract of each call is RFC 2744's

pub mod boundary;
pub mod calls;
pub mod handles;
pub mod mem;
pub mod support;
pub mod types;
pub mod unavailable;
