//! Configuration files in MIT's profile format: `krb5.conf` (client side) and `kdc.conf` (the KDC),
//! read by one parser.
//!
//! # The format
//!
//! ```text
//! # a comment (also ';'), only at the start of a line (after blanks)
//! [libdefaults]
//!     default_realm = KTIX.TEST
//!     ticket_lifetime = 10h
//! [realms]
//!     KTIX.TEST = {
//!         kdc = kdc1.ktix.test
//!         kdc = kdc2.ktix.test:750
//!     }*
//! include /etc/krb5.conf.d/extra.conf
//! includedir /etc/krb5.conf.d/
//! ```
//!
//! A [`Profile`] is a tree: top-level sections (`[name]`) hold relations (`tag = value`) and
//! subsections (`tag = {` … `}`, nested to any depth up to a bound). A tag may repeat; all its
//! values are kept in order (`kdc = a` twice gives two KDCs). Values are the rest of the line with
//! surrounding blanks removed, or a quoted string (`"…"` with the escapes `\n`, `\t`, `\b`, `\\`,
//! `\"`). `include FILE` and `includedir DIR` at the very start of a line read other files; an
//! included file starts with its own section header and adds its sections to the profile.
//!
//! A `*` after a section's `]`, after a subsection's `}` or after a subsection's tag marks it
//! *final*: when several files are read ([`Profile::merge`], `KRB5_CONFIG=a:b`), the same section
//! or subsection in a later file is then ignored. The behaviour follows MIT krb5 1.20, checked
//! against its profile library: a `*` after a relation's tag is accepted and recorded but, as in
//! MIT, has no effect; a `*` at the end of a *value* is part of the value (values such as
//! `auth_to_local` rules may end in `*`).
//!
//! Where this parser is stricter than MIT, it is so on purpose, to report mistakes MIT silently
//! ignores: text before the first section header, a subsection still open at the end of a file,
//! and a value that starts with `{` but has more on the line (`R = { kdc = x }`, which MIT reads
//! as a plain value) are errors here. Syntax errors have the code
//! [`ErrorCode::KTIX_ERR_CONFIG`] and a message `FILE:LINE: what`.
//!
//! # Typed views
//!
//! [`Krb5Conf`] reads the relations a client uses; [`KdcConf`] the `kdc.conf` subset a KDC uses.
//! Both ignore sections and tags they do not know, as MIT does. Value syntaxes MIT uses are parsed
//! by [`parse_duration`], [`parse_bool`] and [`parse_enctypes`].

mod kdc;
mod krb5;
mod parser;
mod profile;
mod values;

pub use kdc::{parse_listen_addrs, KdcConf, DEFAULT_KDC_PROFILE};
pub use krb5::{Krb5Conf, RealmConf, DEFAULT_KRB5_CONFIG};
pub use parser::MAX_FILE_LEN;
pub use profile::{EntryValue, Origin, Profile, ProfileEntry, ProfileNode};
pub use values::{parse_bool, parse_duration, parse_enctypes};

use crate::error::{Error, ErrorCode};

/// The default KDC port (RFC 4120 §7.2.3).
const KDC_PORT: u16 = 88;

fn config_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::KTIX_ERR_CONFIG, msg)
}
