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

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::client::ClientConfig;
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};
use crate::kdc::RealmPolicy;

/// The client configuration MIT reads when `KRB5_CONFIG` is not set.
pub const DEFAULT_KRB5_CONFIG: &str = "/etc/krb5.conf";

/// The KDC configuration MIT (as packaged by Debian) reads when `KRB5_KDC_PROFILE` is not set.
pub const DEFAULT_KDC_PROFILE: &str = "/etc/krb5kdc/kdc.conf";

/// Largest configuration file read (bytes).
pub const MAX_FILE_LEN: usize = 1 << 20;

/// Deepest chain of `include`s (a file including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Most files one profile is read from (including every `include`/`includedir`).
const MAX_FILES: usize = 256;

/// Deepest nesting of subsections.
const MAX_NESTING: usize = 32;

/// The default KDC port (RFC 4120 §7.2.3).
const KDC_PORT: u16 = 88;

fn config_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::KTIX_ERR_CONFIG, msg)
}

// ------------------------------------------------------------------------------------------------
// The tree

/// Where an entry was written: file (or the `source` name given to [`Profile::parse`]) and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file name or source label.
    pub source: Arc<str>,
    /// The line number, from 1.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// What an entry holds: a relation's value or a (sub)section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryValue {
    /// `tag = value`.
    Value(String),
    /// `[name]` or `tag = { … }`.
    Section(ProfileNode),
}

/// One named entry of a section: a relation or a subsection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileEntry {
    name: String,
    value: EntryValue,
    is_final: bool,
    origin: Origin,
}

impl ProfileEntry {
    /// The tag (or section name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value or the subsection.
    pub fn value(&self) -> &EntryValue {
        &self.value
    }

    /// The relation's value; `None` for a subsection.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            EntryValue::Value(v) => Some(v),
            EntryValue::Section(_) => None,
        }
    }

    /// The subsection; `None` for a relation.
    pub fn node(&self) -> Option<&ProfileNode> {
        match &self.value {
            EntryValue::Section(n) => Some(n),
            EntryValue::Value(_) => None,
        }
    }

    /// Whether it was marked final with `*`.
    pub fn is_final(&self) -> bool {
        self.is_final
    }

    /// Where it was written.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// A section or subsection: its entries in file order (names may repeat).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileNode {
    entries: Vec<ProfileEntry>,
}

impl ProfileNode {
    /// The entries in the order they were read.
    pub fn entries(&self) -> &[ProfileEntry] {
        &self.entries
    }

    /// Every entry at `path` below this node, in order. Each step of the path goes into every
    /// subsection of that name (a section written twice, or in two files, counts as one).
    pub fn find(&self, path: &[&str]) -> Vec<&ProfileEntry> {
        let Some((last, init)) = path.split_last() else {
            return Vec::new();
        };
        let mut nodes: Vec<&ProfileNode> = vec![self];
        for step in init {
            nodes = nodes
                .iter()
                .flat_map(|n| n.entries.iter())
                .filter(|e| e.name == *step)
                .filter_map(ProfileEntry::node)
                .collect();
        }
        nodes.iter().flat_map(|n| n.entries.iter()).filter(|e| e.name == *last).collect()
    }

    /// The first value of the relation at `path` (`["libdefaults", "default_realm"]`).
    pub fn get(&self, path: &[&str]) -> Option<&str> {
        self.find(path).into_iter().find_map(ProfileEntry::text)
    }

    /// Every value of the relation at `path`, in order.
    pub fn get_all(&self, path: &[&str]) -> Vec<&str> {
        self.find(path).into_iter().filter_map(ProfileEntry::text).collect()
    }

    /// The first subsection at `path`.
    pub fn subsection(&self, path: &[&str]) -> Option<&ProfileNode> {
        self.find(path).into_iter().find_map(ProfileEntry::node)
    }

    /// Every subsection at `path`, in order.
    pub fn subsections(&self, path: &[&str]) -> Vec<&ProfileNode> {
        self.find(path).into_iter().filter_map(ProfileEntry::node).collect()
    }

    /// The distinct names of the entries inside the subsections at `path` (the whole node for an
    /// empty path), in first-seen order.
    pub fn names(&self, path: &[&str]) -> Vec<&str> {
        self.names_where(path, |_| true)
    }

    /// Like [`ProfileNode::names`], only the names of subsections (the realms under `[realms]`).
    pub fn subsection_names(&self, path: &[&str]) -> Vec<&str> {
        self.names_where(path, |e| e.node().is_some())
    }

    fn names_where(&self, path: &[&str], keep: impl Fn(&ProfileEntry) -> bool) -> Vec<&str> {
        let nodes: Vec<&ProfileNode> = if path.is_empty() { vec![self] } else { self.subsections(path) };
        let mut out: Vec<&str> = Vec::new();
        for e in nodes.iter().flat_map(|n| n.entries.iter()) {
            if keep(e) && !out.contains(&e.name.as_str()) {
                out.push(&e.name);
            }
        }
        out
    }

    /// `self`'s entries without those that a final entry of `earlier` (the same place in earlier
    /// files) hides: a final section or subsection hides every later one of its name.
    fn without_finals_of(self, earlier: &[&ProfileNode]) -> ProfileNode {
        let mut entries = Vec::with_capacity(self.entries.len());
        for e in self.entries {
            let same: Vec<&ProfileEntry> = earlier
                .iter()
                .flat_map(|n| n.entries.iter())
                .filter(|x| x.name == e.name && x.node().is_some())
                .collect();
            if same.iter().any(|x| x.is_final) {
                continue;
            }
            match e.value {
                EntryValue::Section(node) => {
                    let inner: Vec<&ProfileNode> = same.iter().filter_map(|x| x.node()).collect();
                    entries.push(ProfileEntry { value: EntryValue::Section(node.without_finals_of(&inner)), ..e });
                }
                EntryValue::Value(_) => entries.push(e),
            }
        }
        ProfileNode { entries }
    }
}

/// A parsed profile: one file, or several merged ([`Profile::merge`], [`Profile::load_list`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    root: ProfileNode,
}

impl Profile {
    /// An empty profile (what MIT uses when no configuration file exists).
    pub fn empty() -> Profile {
        Profile::default()
    }

    /// Parses `text`; `source` names it in error messages (`"FILE:LINE: what"`). `include` and
    /// `includedir` directives read the files they name (relative paths from the current
    /// directory, as MIT).
    pub fn parse(text: &str, source: &str) -> Result<Profile> {
        let mut root = ProfileNode::default();
        let mut budget = MAX_FILES;
        parse_into(&mut root, text, Arc::from(source), 0, &mut budget)?;
        Ok(Profile { root })
    }

    /// Reads and parses the file at `path` (errors name the file).
    pub fn load(path: &Path) -> Result<Profile> {
        let mut root = ProfileNode::default();
        let mut budget = MAX_FILES;
        parse_file(&mut root, path, 0, &mut budget)?;
        Ok(Profile { root })
    }

    /// Reads a `KRB5_CONFIG`-style list: paths separated by `:`, earlier files winning. As MIT,
    /// names that do not exist are skipped (an empty profile when none does); a directory adds
    /// its files as `includedir` does. Other errors (unreadable file, syntax) fail.
    pub fn load_list(list: &str) -> Result<Profile> {
        let mut profile = Profile::empty();
        for name in list.split(':').filter(|n| !n.is_empty()) {
            let path = Path::new(name);
            let meta = match std::fs::metadata(path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(path.display(), e)),
            };
            if meta.is_dir() {
                for file in dir_profile_files(path).map_err(|e| Error::io(path.display(), e))? {
                    profile.merge(Profile::load(&file)?);
                }
            } else {
                profile.merge(Profile::load(path)?);
            }
        }
        Ok(profile)
    }

    /// Adds `later`'s sections after this profile's, as when `later` is a later file of a list:
    /// first values still come from `self`, and sections or subsections `self` marks final hide
    /// the same ones in `later`.
    pub fn merge(&mut self, later: Profile) {
        let filtered = later.root.without_finals_of(&[&self.root]);
        self.root.entries.extend(filtered.entries);
    }

    /// The tree: its entries are the top-level sections.
    pub fn root(&self) -> &ProfileNode {
        &self.root
    }

    /// Whether there are no sections at all.
    pub fn is_empty(&self) -> bool {
        self.root.entries.is_empty()
    }

    /// The distinct top-level section names, in first-seen order.
    pub fn section_names(&self) -> Vec<&str> {
        self.root.names(&[])
    }

    /// See [`ProfileNode::find`].
    pub fn find(&self, path: &[&str]) -> Vec<&ProfileEntry> {
        self.root.find(path)
    }

    /// The first value at `path`, e.g. `profile.get(&["libdefaults", "default_realm"])`.
    pub fn get(&self, path: &[&str]) -> Option<&str> {
        self.root.get(path)
    }

    /// Every value at `path`, in order (`["realms", "R", "kdc"]`).
    pub fn get_all(&self, path: &[&str]) -> Vec<&str> {
        self.root.get_all(path)
    }

    /// The first subsection at `path` (`["realms", "R"]`).
    pub fn subsection(&self, path: &[&str]) -> Option<&ProfileNode> {
        self.root.subsection(path)
    }

    /// Every subsection at `path`.
    pub fn subsections(&self, path: &[&str]) -> Vec<&ProfileNode> {
        self.root.subsections(path)
    }

    /// See [`ProfileNode::names`].
    pub fn names(&self, path: &[&str]) -> Vec<&str> {
        self.root.names(path)
    }

    /// See [`ProfileNode::subsection_names`].
    pub fn subsection_names(&self, path: &[&str]) -> Vec<&str> {
        self.root.subsection_names(path)
    }

    /// The first relation at `path` with its origin (for messages about its value).
    fn relation(&self, path: &[&str]) -> Option<(&str, &Origin)> {
        self.root.find(path).into_iter().find_map(|e| e.text().map(|t| (t, &e.origin)))
    }
}

// ------------------------------------------------------------------------------------------------
// The parser

/// Reads a file (bounded) and parses it into `root`.
fn parse_file(root: &mut ProfileNode, path: &Path, depth: usize, budget: &mut usize) -> Result<()> {
    if *budget == 0 {
        return Err(config_error(format!("{}: more than {MAX_FILES} configuration files", path.display())));
    }
    *budget -= 1;
    let bytes = crate::fsutil::read_limited(path, MAX_FILE_LEN)?;
    let text = String::from_utf8_lossy(&bytes);
    parse_into(root, &text, Arc::from(path.display().to_string()), depth, budget)
}

/// The files `includedir` (and a directory in `KRB5_CONFIG`) reads, sorted by name: regular files
/// whose names are made only of letters, digits, `-` and `_`, or end in `.conf` without starting
/// with `.`.
fn dir_profile_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let conf = name.ends_with(".conf") && !name.starts_with('.');
        if !(plain || conf) {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false) {
            out.push(path);
        }
        if out.len() > MAX_FILES {
            break;
        }
    }
    out.sort();
    Ok(out)
}

/// An open subsection while parsing.
struct Open {
    /// Index of its entry in the enclosing node.
    index: usize,
    /// Where its `{` was.
    line: usize,
    /// Its tag.
    name: String,
}

/// Parser state for one file.
struct FileParser<'r> {
    root: &'r mut ProfileNode,
    source: Arc<str>,
    /// Index of the current top-level section in `root.entries`.
    section: Option<usize>,
    /// Open subsections, outermost first.
    open: Vec<Open>,
    /// After `tag =` with nothing more: the tag, its final flag and line, waiting for `{`.
    pending: Option<(String, bool, usize)>,
}

impl FileParser<'_> {
    fn err(&self, line: usize, what: impl fmt::Display) -> Error {
        config_error(format!("{}:{line}: {what}", self.source))
    }

    /// The node relations currently go to.
    fn current(&mut self) -> Option<&mut ProfileNode> {
        let mut node = match &mut self.root.entries.get_mut(self.section?)?.value {
            EntryValue::Section(n) => n,
            EntryValue::Value(_) => return None,
        };
        for o in &self.open {
            node = match &mut node.entries.get_mut(o.index)?.value {
                EntryValue::Section(n) => n,
                EntryValue::Value(_) => return None,
            };
        }
        Some(node)
    }

    fn origin(&self, line: usize) -> Origin {
        Origin { source: self.source.clone(), line }
    }

    fn push(&mut self, line: usize, name: String, value: EntryValue, is_final: bool) -> Result<usize> {
        let origin = self.origin(line);
        let outside = self.err(line, "relation outside of any [section]");
        let node = self.current().ok_or(outside)?;
        node.entries.push(ProfileEntry { name, value, is_final, origin });
        Ok(node.entries.len() - 1)
    }

    fn open_subsection(&mut self, line: usize, name: String, is_final: bool) -> Result<()> {
        if self.open.len() >= MAX_NESTING {
            return Err(self.err(line, format!("subsections nested deeper than {MAX_NESTING}")));
        }
        let index = self.push(line, name.clone(), EntryValue::Section(ProfileNode::default()), is_final)?;
        self.open.push(Open { index, line, name });
        Ok(())
    }

    fn close_subsection(&mut self, line: usize, is_final: bool) -> Result<()> {
        let Some(o) = self.open.pop() else {
            return Err(self.err(line, "'}' without an open subsection"));
        };
        if is_final {
            if let Some(e) = self.current().and_then(|n| n.entries.get_mut(o.index)) {
                e.is_final = true;
            }
        }
        Ok(())
    }

    fn section_header(&mut self, line: usize, rest: &str) -> Result<()> {
        if let Some(o) = self.open.last() {
            return Err(self.err(line, format!("section header inside the subsection opened at line {}", o.line)));
        }
        let Some(close) = rest.find(']') else {
            return Err(self.err(line, "section header without ']'"));
        };
        let name = &rest[..close];
        let mut after = &rest[close + 1..];
        let is_final = after.starts_with('*');
        if is_final {
            after = &after[1..];
        }
        if !after.trim().is_empty() {
            return Err(self.err(line, format!("unexpected text after section header [{name}]")));
        }
        let origin = self.origin(line);
        self.root.entries.push(ProfileEntry {
            name: name.to_string(),
            value: EntryValue::Section(ProfileNode::default()),
            is_final,
            origin,
        });
        self.section = Some(self.root.entries.len() - 1);
        Ok(())
    }

    fn relation(&mut self, line: usize, text: &str) -> Result<()> {
        if self.section.is_none() {
            return Err(self.err(line, "relation outside of any [section]"));
        }
        let Some(eq) = text.find('=') else {
            return Err(self.err(line, "missing '=' in relation"));
        };
        let mut tag = text[..eq].trim_end();
        let mut is_final = false;
        if let Some(star) = tag.find('*') {
            tag = &tag[..star];
            is_final = true;
        }
        if tag.is_empty() {
            return Err(self.err(line, "relation without a tag"));
        }
        if tag.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(self.err(line, format!("tag {tag:?} contains blanks")));
        }
        let raw = text[eq + 1..].trim_start();
        if let Some(quoted) = raw.strip_prefix('"') {
            let value = unquote(quoted);
            self.push(line, tag.to_string(), EntryValue::Value(value), is_final)?;
            return Ok(());
        }
        let value = raw.trim_end();
        if value.is_empty() {
            self.pending = Some((tag.to_string(), is_final, line));
        } else if value == "{" {
            self.open_subsection(line, tag.to_string(), is_final)?;
        } else if value.starts_with('{') {
            return Err(self.err(line, format!("'{{' must end the line that opens subsection {tag:?}")));
        } else {
            self.push(line, tag.to_string(), EntryValue::Value(value.to_string()), is_final)?;
        }
        Ok(())
    }

    fn directive(&mut self, line: usize, dir: bool, arg: &str, depth: usize, budget: &mut usize) -> Result<()> {
        let arg = arg.trim();
        let what = if dir { "includedir" } else { "include" };
        if arg.is_empty() {
            return Err(self.err(line, format!("{what} without a name")));
        }
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(self.err(line, format!("includes nested deeper than {MAX_INCLUDE_DEPTH}")));
        }
        let here = format!("{}:{line}", self.source);
        let path = Path::new(arg);
        let files = if dir {
            dir_profile_files(path).map_err(|e| self.err(line, format!("cannot read directory {arg}: {e}")))?
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            parse_file(self.root, &file, depth + 1, budget).map_err(|e| {
                let msg = if e.code() == ErrorCode::KTIX_ERR_IO {
                    format!("{here}: cannot read included file: {}", e.message())
                } else {
                    format!("{} (included from {here})", e.message())
                };
                Error::new(e.code(), msg)
            })?;
        }
        Ok(())
    }
}

/// The value of a quoted string after its opening `"`: escapes `\n`, `\t`, `\b`; any other
/// escaped character stands for itself; text after the closing quote is ignored; a missing
/// closing quote ends the value at the end of the line (all as MIT).
fn unquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('b') => out.push('\u{8}'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    out
}

/// `include`/`includedir`/`module` at the very start of a line, followed by a blank.
fn directive_arg<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(word)?;
    rest.starts_with([' ', '\t']).then_some(rest)
}

fn parse_into(root: &mut ProfileNode, text: &str, source: Arc<str>, depth: usize, budget: &mut usize) -> Result<()> {
    let mut p = FileParser { root, source, section: None, open: Vec::new(), pending: None };
    let mut last = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        last = line;
        if let Some((tag, is_final, at)) = p.pending.take() {
            match raw.trim_start().strip_prefix('{') {
                Some(_) => p.open_subsection(line, tag, is_final)?,
                None => return Err(p.err(line, format!("expected '{{' to open subsection {tag:?} of line {at}"))),
            }
            continue;
        }
        if let Some(arg) = directive_arg(raw, "includedir") {
            p.directive(line, true, arg, depth, budget)?;
            continue;
        }
        if let Some(arg) = directive_arg(raw, "include") {
            p.directive(line, false, arg, depth, budget)?;
            continue;
        }
        if directive_arg(raw, "module").is_some() {
            return Err(p.err(line, "profile modules are not supported"));
        }
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            p.section_header(line, rest)?;
        } else if let Some(rest) = t.strip_prefix('}') {
            p.close_subsection(line, rest.starts_with('*'))?;
        } else {
            p.relation(line, t)?;
        }
    }
    if let Some((tag, _, at)) = p.pending.take() {
        return Err(p.err(at, format!("expected '{{' after {tag:?} =, found the end of the file (line {last})")));
    }
    if let Some(o) = p.open.first() {
        return Err(p.err(o.line, format!("subsection {:?} not closed with '}}' before the end of the file", o.name)));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Value syntaxes

/// Parses a duration as MIT writes them, to seconds: `36000` (seconds), `1:30` or `1:30:00`
/// (`h:m` or `h:m:s`), or numbers with units `d`, `h`, `m`, `s` in that order, each at most once, blanks
/// allowed between them (`10h`, `8h 0m 0s`, `7d 0h 0m 0s`, `2d3h`). A leading `-` negates. The
/// result must fit MIT's 32-bit `krb5_deltat`.
pub fn parse_duration(text: &str) -> Result<i64> {
    let bad = |why: &str| config_error(format!("invalid duration {text:?}: {why}"));
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    if body.is_empty() {
        return Err(bad("empty"));
    }
    let number = |s: &str| -> Result<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected a number"));
        }
        s.parse::<i64>().map_err(|_| bad("number too large"))
    };
    let secs = if body.bytes().all(|b| b.is_ascii_digit()) {
        number(body)?
    } else if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        if parts.len() > 3 {
            return Err(bad("more than h:m:s"));
        }
        let h = number(parts[0])?;
        let m = number(parts[1])?;
        let s = match parts.get(2) {
            Some(p) => number(p)?,
            None => 0,
        };
        h.checked_mul(3600)
            .and_then(|x| x.checked_add(m.checked_mul(60)?))
            .and_then(|x| x.checked_add(s))
            .ok_or_else(|| bad("too large"))?
    } else {
        let units = [('d', 86_400i64), ('h', 3600), ('m', 60), ('s', 1)];
        let mut next_unit = 0;
        let mut total: i64 = 0;
        let mut rest = body;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("expected a number"));
            }
            let n = number(&rest[..digits])?;
            let unit = rest[digits..].chars().next().ok_or_else(|| bad("a number without a unit after a unit"))?;
            let Some(k) = units.iter().position(|(u, _)| *u == unit) else {
                return Err(bad("units are d, h, m and s"));
            };
            if k < next_unit {
                return Err(bad("units must come in the order d, h, m, s, each once"));
            }
            next_unit = k + 1;
            total = n.checked_mul(units[k].1).and_then(|x| x.checked_add(total)).ok_or_else(|| bad("too large"))?;
            rest = rest[digits + 1..].trim_start();
        }
        total
    };
    if secs > i64::from(i32::MAX) {
        return Err(bad("too large"));
    }
    Ok(if neg { -secs } else { secs })
}

/// Parses a boolean as MIT does, ignoring case: `true`/`yes`/`on`/`1` (also `t`, `y`) and
/// `false`/`no`/`off`/`0` (also `nil`, `n`).
pub fn parse_bool(text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "t" | "y" => Ok(true),
        "false" | "no" | "off" | "0" | "nil" | "n" => Ok(false),
        _ => Err(config_error(format!("invalid boolean {text:?} (true/false, yes/no, on/off, 1/0)"))),
    }
}

/// Parses an enctype list as MIT writes them: names (or numbers) separated by blanks or commas,
/// in preference order. `:salt` suffixes (`aes256-cts:normal`) are dropped; `DEFAULT` stands for
/// every supported enctype ([`Enctype::ALL`]); the families `aes`, `aes-sha1`, `aes-sha2` expand
/// to their members; a `-` prefix removes an enctype or family added before it, `+` is allowed.
/// Names libktix does not implement (`des3-cbc-sha1`, `arcfour-hmac`, `camellia…`, unknown ones)
/// are skipped, as MIT skips names it does not know; a list left with no enctype is an error.
pub fn parse_enctypes(text: &str) -> Result<Vec<Enctype>> {
    use Enctype::*;
    let mut out: Vec<Enctype> = Vec::new();
    for word in text.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        let (remove, word) = match word.as_bytes()[0] {
            b'-' => (true, &word[1..]),
            b'+' => (false, &word[1..]),
            _ => (false, word),
        };
        let name = word.split(':').next().unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let members: Vec<Enctype> = match lower.as_str() {
            "default" => Enctype::ALL.to_vec(),
            "aes" => vec![Aes256CtsHmacSha196, Aes128CtsHmacSha196, Aes256CtsHmacSha384192, Aes128CtsHmacSha256128],
            "aes-sha1" => vec![Aes256CtsHmacSha196, Aes128CtsHmacSha196],
            "aes-sha2" => vec![Aes256CtsHmacSha384192, Aes128CtsHmacSha256128],
            _ => Enctype::from_name(&lower).map(|e| vec![e]).unwrap_or_default(),
        };
        for e in members {
            if remove {
                out.retain(|x| *x != e);
            } else if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_CONFIG,
            format!("no supported encryption type in {text:?} (libktix implements aes*-cts-hmac-sha1-96 and aes*-cts-hmac-sha2)"),
        ));
    }
    Ok(out)
}

/// Adds `:port` to a `host`, `IPv4`, `[IPv6]` or bare IPv6 address that has none.
fn with_default_port(addr: &str, port: u16) -> String {
    let addr = addr.trim();
    if addr.starts_with('[') {
        if addr.contains("]:") {
            addr.to_string()
        } else {
            format!("{addr}:{port}")
        }
    } else if addr.matches(':').count() > 1 {
        format!("[{addr}]:{port}")
    } else if addr.contains(':') {
        addr.to_string()
    } else {
        format!("{addr}:{port}")
    }
}

// ------------------------------------------------------------------------------------------------
// Typed reading helpers

/// Reads typed values from a profile, reporting bad values with where they were written.
struct Reader<'a>(&'a Profile);

impl Reader<'_> {
    fn typed<T>(&self, path: &[&str], parse: impl Fn(&str) -> Result<T>) -> Result<Option<T>> {
        match self.0.relation(path) {
            None => Ok(None),
            Some((text, origin)) => {
                parse(text).map(Some).map_err(|e| e.context(format_args!("{origin}: {}", path.join("."))))
            }
        }
    }

    fn duration(&self, path: &[&str]) -> Result<Option<i64>> {
        self.typed(path, parse_duration)
    }

    fn boolean(&self, path: &[&str]) -> Result<Option<bool>> {
        self.typed(path, parse_bool)
    }

    fn enctypes(&self, path: &[&str]) -> Result<Option<Vec<Enctype>>> {
        self.typed(path, parse_enctypes)
    }

    fn string(&self, path: &[&str]) -> Option<String> {
        self.0.get(path).map(str::to_string)
    }
}

// ------------------------------------------------------------------------------------------------
// krb5.conf

/// One realm of `krb5.conf`'s `[realms]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealmConf {
    /// `kdc`: the KDCs as `host:port` (port 88 when none is written), in order. A `tcp/` or `udp/`
    /// prefix is dropped; `http(s)://` proxy URLs are left out (not supported).
    pub kdc: Vec<String>,
    /// `master_kdc`, as `host:port` (default port 88).
    pub master_kdc: Vec<String>,
    /// `admin_server`, as `host:port` (default port 749).
    pub admin_server: Vec<String>,
    /// `kpasswd_server`, as `host:port` (default port 464).
    pub kpasswd_server: Vec<String>,
    /// `default_domain`.
    pub default_domain: Option<String>,
}

/// The client side of `krb5.conf`: the `[libdefaults]`, `[realms]` and `[domain_realm]` relations
/// libktix uses. Other relations (`dns_lookup_kdc`, `rdns`, …) and sections are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Krb5Conf {
    /// `default_realm`.
    pub default_realm: Option<String>,
    /// `ticket_lifetime`, seconds (default 1 day, as MIT).
    pub ticket_lifetime: i64,
    /// `renew_lifetime`, seconds (`None`: not set, MIT asks for no renewable life).
    pub renew_lifetime: Option<i64>,
    /// `forwardable` (`None`: not set; [`ClientConfig`]'s default then applies).
    pub forwardable: Option<bool>,
    /// `clockskew`, seconds (default 300).
    pub clockskew: i64,
    /// `default_tkt_enctypes` (`None`: not set).
    pub default_tkt_enctypes: Option<Vec<Enctype>>,
    /// `default_tgs_enctypes` (`None`: not set).
    pub default_tgs_enctypes: Option<Vec<Enctype>>,
    /// `permitted_enctypes` (`None`: not set).
    pub permitted_enctypes: Option<Vec<Enctype>>,
    /// `udp_preference_limit`, bytes: larger requests go by TCP first (default 1465, at most
    /// 32700 as MIT).
    pub udp_preference_limit: usize,
    /// `[realms]`, by realm name.
    pub realms: BTreeMap<String, RealmConf>,
    /// `[domain_realm]`: (host or `.domain`, realm) pairs in file order.
    pub domain_realm: Vec<(String, String)>,
}

impl Default for Krb5Conf {
    fn default() -> Krb5Conf {
        Krb5Conf {
            default_realm: None,
            ticket_lifetime: 24 * 3600,
            renew_lifetime: None,
            forwardable: None,
            clockskew: 300,
            default_tkt_enctypes: None,
            default_tgs_enctypes: None,
            permitted_enctypes: None,
            udp_preference_limit: 1465,
            realms: BTreeMap::new(),
            domain_realm: Vec::new(),
        }
    }
}

impl Krb5Conf {
    /// Reads the typed settings from `profile`; a value that does not parse is an error naming
    /// its file and line.
    pub fn from_profile(profile: &Profile) -> Result<Krb5Conf> {
        let r = Reader(profile);
        let d = Krb5Conf::default();
        let lib = |tag: &'static str| -> [&'static str; 2] { ["libdefaults", tag] };
        let udp_preference_limit = r
            .typed(&lib("udp_preference_limit"), |t| {
                t.trim().parse::<usize>().map_err(|_| config_error(format!("invalid number {t:?}")))
            })?
            .map_or(d.udp_preference_limit, |n| n.min(32_700));
        let mut realms = BTreeMap::new();
        for name in profile.subsection_names(&["realms"]) {
            let list = |tag: &str, port: u16| -> Vec<String> {
                profile
                    .get_all(&["realms", name, tag])
                    .into_iter()
                    .filter_map(|v| {
                        let v = v.trim();
                        let v = v.strip_prefix("tcp/").or_else(|| v.strip_prefix("udp/")).unwrap_or(v);
                        (!v.is_empty() && !v.contains("://")).then(|| with_default_port(v, port))
                    })
                    .collect()
            };
            let realm = RealmConf {
                kdc: list("kdc", KDC_PORT),
                master_kdc: list("master_kdc", KDC_PORT),
                admin_server: list("admin_server", 749),
                kpasswd_server: list("kpasswd_server", 464),
                default_domain: profile.get(&["realms", name, "default_domain"]).map(str::to_string),
            };
            realms.insert(name.to_string(), realm);
        }
        let mut domain_realm = Vec::new();
        for section in profile.subsections(&["domain_realm"]) {
            for e in section.entries() {
                if let Some(v) = e.text() {
                    domain_realm.push((e.name().to_string(), v.to_string()));
                }
            }
        }
        Ok(Krb5Conf {
            default_realm: r.string(&lib("default_realm")),
            ticket_lifetime: r.duration(&lib("ticket_lifetime"))?.unwrap_or(d.ticket_lifetime),
            renew_lifetime: r.duration(&lib("renew_lifetime"))?,
            forwardable: r.boolean(&lib("forwardable"))?,
            clockskew: r.duration(&lib("clockskew"))?.unwrap_or(d.clockskew),
            default_tkt_enctypes: r.enctypes(&lib("default_tkt_enctypes"))?,
            default_tgs_enctypes: r.enctypes(&lib("default_tgs_enctypes"))?,
            permitted_enctypes: r.enctypes(&lib("permitted_enctypes"))?,
            udp_preference_limit,
            realms,
            domain_realm,
        })
    }

    /// Parses `krb5.conf` text (see [`Profile::parse`]).
    pub fn parse(text: &str, source: &str) -> Result<Krb5Conf> {
        Krb5Conf::from_profile(&Profile::parse(text, source)?)
    }

    /// Reads the configuration MIT's tools read: the files of `$KRB5_CONFIG` (a `:`-separated
    /// list), or [`DEFAULT_KRB5_CONFIG`]. Missing files are skipped; none at all is an empty
    /// configuration, as with MIT.
    pub fn load_default() -> Result<Krb5Conf> {
        Krb5Conf::from_profile(&load_default_krb5_profile()?)
    }

    /// The KDC addresses (`host:port`) of `realm`; empty when the realm is not configured.
    pub fn kdcs_for(&self, realm: &str) -> Vec<String> {
        self.realms.get(realm).map(|r| r.kdc.clone()).unwrap_or_default()
    }

    /// The realm `[domain_realm]` maps `host` to, as MIT looks it up: the host name itself
    /// (lower-cased, without a trailing dot), then `.` + its domain, then the domain, then the same
    /// for each parent domain (`a.b.example.com`, `.b.example.com`, `b.example.com`,
    /// `.example.com`, …). `None` when nothing matches (MIT would then guess from the domain or
    /// use the default realm; that choice is the caller's).
    pub fn realm_for_host(&self, host: &str) -> Option<&str> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        let lookup = |key: &str| {
            self.domain_realm
                .iter()
                .find(|(k, _)| k.trim_end_matches('.').eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let mut key: &str = &host;
        loop {
            if let Some(realm) = lookup(key) {
                return Some(realm);
            }
            if let Some(domain) = key.strip_prefix('.') {
                key = domain;
            } else {
                let dot = key.find('.')?;
                key = &key[dot..];
            }
            if key.is_empty() {
                return None;
            }
        }
    }

    /// The enctypes an AS request should offer: `default_tkt_enctypes`, else
    /// `permitted_enctypes` (MIT's default for it), else every supported enctype.
    pub fn tkt_enctypes(&self) -> Vec<Enctype> {
        self.default_tkt_enctypes
            .as_ref()
            .or(self.permitted_enctypes.as_ref())
            .cloned()
            .unwrap_or_else(|| Enctype::ALL.to_vec())
    }

    /// The enctypes a TGS request should offer: `default_tgs_enctypes`, else
    /// `permitted_enctypes`, else every supported enctype.
    pub fn tgs_enctypes(&self) -> Vec<Enctype> {
        self.default_tgs_enctypes
            .as_ref()
            .or(self.permitted_enctypes.as_ref())
            .cloned()
            .unwrap_or_else(|| Enctype::ALL.to_vec())
    }

    /// Client settings for `realm`: [`ClientConfig::new`]'s defaults overridden by what this
    /// configuration sets (ticket and renewable lifetimes, forwardable, AS enctypes
    /// ([`Krb5Conf::tkt_enctypes`]), clock skew).
    pub fn to_client_config(&self, realm: &str) -> ClientConfig {
        let mut c = ClientConfig::new(realm);
        c.ticket_lifetime = self.ticket_lifetime;
        if self.renew_lifetime.is_some_and(|r| r > 0) {
            c.renew_lifetime = self.renew_lifetime;
        }
        if let Some(f) = self.forwardable {
            c.forwardable = f;
        }
        c.enctypes = self.tkt_enctypes();
        c.tgs_enctypes = self.tgs_enctypes();
        c.clock_skew = self.clockskew;
        c
    }
}

/// The profile of `$KRB5_CONFIG` or [`DEFAULT_KRB5_CONFIG`].
fn load_default_krb5_profile() -> Result<Profile> {
    match std::env::var("KRB5_CONFIG") {
        Ok(list) => Profile::load_list(&list),
        Err(_) => Profile::load_list(DEFAULT_KRB5_CONFIG),
    }
}

// ------------------------------------------------------------------------------------------------
// kdc.conf

/// The KDC side of `kdc.conf` (MIT's subset libktix uses) for one realm. Values not written are
/// `None` (or the defaults below); [`KdcConf::to_policy`] applies [`RealmPolicy`]'s defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcConf {
    /// The realm read: the one asked for, else `[libdefaults] default_realm`, else the only realm
    /// of `[realms]`.
    pub realm: Option<String>,
    /// UDP listen addresses: the realm's `kdc_listen`/`kdc_ports`, else `[kdcdefaults]`'s, else
    /// port 88 on every interface. A bare port means every IPv4 interface (`0.0.0.0`).
    pub udp_listen: Vec<SocketAddr>,
    /// TCP listen addresses: `kdc_tcp_listen`/`kdc_tcp_ports` the same way (default port 88);
    /// empty when set to an empty value (`kdc_tcp_ports = ""`), which turns TCP off.
    pub tcp_listen: Vec<SocketAddr>,
    /// `max_life`, seconds.
    pub max_life: Option<i64>,
    /// `max_renewable_life`, seconds.
    pub max_renewable_life: Option<i64>,
    /// `supported_enctypes` (salt types dropped).
    pub supported_enctypes: Option<Vec<Enctype>>,
    /// `master_key_type`, as written.
    pub master_key_type: Option<String>,
    /// `database_name`.
    pub database_name: Option<String>,
    /// `key_stash_file`.
    pub key_stash_file: Option<String>,
    /// `[libdefaults] clockskew` (MIT's KDC reads `krb5.conf` too), seconds; default 300.
    pub clockskew: i64,
}

/// Parses a `kdc_ports`-style list (blanks or commas): `PORT`, `ADDR`, `ADDR:PORT` or
/// `[IPv6]:PORT`; the address defaults to `0.0.0.0`, the port to 88.
pub fn parse_listen_addrs(text: &str) -> Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        let bad = |why: &str| config_error(format!("invalid listen address {word:?}: {why}"));
        let port = |p: &str| -> Result<u16> {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad("the port must be 1 to 65535")),
            }
        };
        let addr = if word.bytes().all(|b| b.is_ascii_digit()) {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port(word)?)
        } else if let Some(rest) = word.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            let ip: IpAddr = ip.parse().map_err(|_| bad("not an IP address"))?;
            let p = match after {
                "" => KDC_PORT,
                _ => port(after.strip_prefix(':').ok_or_else(|| bad("expected ':' after ']'"))?)?,
            };
            SocketAddr::new(ip, p)
        } else if let Ok(ip) = word.parse::<IpAddr>() {
            SocketAddr::new(ip, KDC_PORT)
        } else if let Some((ip, p)) = word.rsplit_once(':') {
            SocketAddr::new(ip.parse().map_err(|_| bad("not an IP address"))?, port(p)?)
        } else {
            return Err(bad("not a port or an IP address"));
        };
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    Ok(out)
}

impl KdcConf {
    /// Reads the settings of `realm` (see [`KdcConf::realm`] when `None`) from `profile`, which
    /// may be `kdc.conf` alone or merged with `krb5.conf` (as MIT's KDC reads them).
    pub fn from_profile(profile: &Profile, realm: Option<&str>) -> Result<KdcConf> {
        let realm: Option<String> = match realm {
            Some(r) => Some(r.to_string()),
            None => profile.get(&["libdefaults", "default_realm"]).map(str::to_string).or_else(|| {
                let names = profile.subsection_names(&["realms"]);
                (names.len() == 1).then(|| names[0].to_string())
            }),
        };
        let r = Reader(profile);
        // A relation of the realm's subsection, when there is a realm.
        let in_realm = |tag: &'static str| realm.as_deref().map(|name| ["realms", name, tag]);
        let realm_string = |tag| in_realm(tag).and_then(|p| r.string(&p));
        let realm_duration = |tag| in_realm(tag).map_or(Ok(None), |p| r.duration(&p));
        // MIT's order: the realm's kdc_listen, its kdc_ports, then the same two in [kdcdefaults].
        let listen = |listen_tag: &'static str, ports_tag: &'static str| -> Result<Vec<SocketAddr>> {
            let mut paths: Vec<Vec<&str>> = Vec::new();
            for tag in [listen_tag, ports_tag] {
                paths.extend(in_realm(tag).map(|p| p.to_vec()));
            }
            for tag in [listen_tag, ports_tag] {
                paths.push(vec!["kdcdefaults", tag]);
            }
            for path in &paths {
                if let Some(addrs) = r.typed(path, parse_listen_addrs)? {
                    return Ok(addrs);
                }
            }
            Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), KDC_PORT)])
        };
        Ok(KdcConf {
            udp_listen: listen("kdc_listen", "kdc_ports")?,
            tcp_listen: listen("kdc_tcp_listen", "kdc_tcp_ports")?,
            max_life: realm_duration("max_life")?,
            max_renewable_life: realm_duration("max_renewable_life")?,
            supported_enctypes: in_realm("supported_enctypes").map_or(Ok(None), |p| r.enctypes(&p))?,
            master_key_type: realm_string("master_key_type"),
            database_name: realm_string("database_name"),
            key_stash_file: realm_string("key_stash_file"),
            clockskew: r.duration(&["libdefaults", "clockskew"])?.unwrap_or(300),
            realm,
        })
    }

    /// Parses `kdc.conf` text (see [`Profile::parse`]).
    pub fn parse(text: &str, source: &str, realm: Option<&str>) -> Result<KdcConf> {
        KdcConf::from_profile(&Profile::parse(text, source)?, realm)
    }

    /// Reads what MIT's KDC reads: `$KRB5_KDC_PROFILE` (or [`DEFAULT_KDC_PROFILE`]) first, then
    /// the `krb5.conf` files of [`Krb5Conf::load_default`]; missing files are skipped.
    pub fn load_default(realm: Option<&str>) -> Result<KdcConf> {
        let list = std::env::var("KRB5_KDC_PROFILE").unwrap_or_else(|_| DEFAULT_KDC_PROFILE.to_string());
        let mut profile = Profile::load_list(&list)?;
        profile.merge(load_default_krb5_profile()?);
        KdcConf::from_profile(&profile, realm)
    }

    /// The realm policy: the settings written here, [`RealmPolicy::default`]'s otherwise
    /// (8 h, 7 days, skew 300 s, every supported enctype).
    pub fn to_policy(&self) -> RealmPolicy {
        let d = RealmPolicy::default();
        RealmPolicy {
            max_life: self.max_life.unwrap_or(d.max_life),
            max_renewable_life: self.max_renewable_life.unwrap_or(d.max_renewable_life),
            clock_skew: self.clockskew,
            enctypes: self.supported_enctypes.clone().unwrap_or(d.enctypes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Profile {
        Profile::parse(text, "t.conf").expect("parses")
    }

    fn err(text: &str) -> String {
        let e = Profile::parse(text, "t.conf").expect_err("fails");
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
        e.message().to_string()
    }

    #[test]
    fn relations_subsections_and_repeats() {
        let prof = p("[s]\n a = 1\n b = {\n  c = 2\n  c = 3\n  d = {\n   e = deep\n  }\n }\n a = 4\n");
        assert_eq!(prof.get(&["s", "a"]), Some("1"));
        assert_eq!(prof.get_all(&["s", "a"]), vec!["1", "4"]);
        assert_eq!(prof.get_all(&["s", "b", "c"]), vec!["2", "3"]);
        assert_eq!(prof.get(&["s", "b", "d", "e"]), Some("deep"));
        assert_eq!(prof.get(&["s", "b"]), None);
        assert!(prof.subsection(&["s", "b"]).is_some());
        assert_eq!(prof.names(&["s"]), vec!["a", "b"]);
        assert_eq!(prof.subsection_names(&["s"]), vec!["b"]);
        assert_eq!(prof.section_names(), vec!["s"]);
        assert_eq!(prof.get(&[]), None);
    }

    #[test]
    fn values_and_quotes() {
        let prof =
            p("[s]\nq = \"x\\ty\\\"z\\\\w\\q\\n\" ignored\nu = a b  \\n \t\nstar = b*\nopen = \"abc\ne = \"\"\n");
        assert_eq!(prof.get(&["s", "q"]), Some("x\ty\"z\\wq\n"));
        assert_eq!(prof.get(&["s", "u"]), Some("a b  \\n"));
        assert_eq!(prof.get(&["s", "star"]), Some("b*"));
        assert_eq!(prof.get(&["s", "open"]), Some("abc"));
        assert_eq!(prof.get(&["s", "e"]), Some(""));
    }

    #[test]
    fn brace_on_next_line() {
        let prof = p("[s]\na =\n  {  \nb = 1\n}\n");
        assert_eq!(prof.get(&["s", "a", "b"]), Some("1"));
        assert!(err("[s]\na =\n\n{\n}\n").starts_with("t.conf:3: expected '{'"));
        assert!(err("[s]\na =\n").starts_with("t.conf:2: expected '{'"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert!(err("[s]\na = {\nb = 1\n").starts_with("t.conf:2: subsection \"a\" not closed"));
        assert!(err("[s]\na = 1\n}\n").starts_with("t.conf:3: '}' without"));
        assert!(err("# c\na = 1\n[s]\n").starts_with("t.conf:2: relation outside"));
        assert!(err("[s]\n\nfoo bar\n").starts_with("t.conf:3: missing '='"));
        assert!(err("[s]\na b = 1\n").starts_with("t.conf:2: tag"));
        assert!(err("[s]\n = 1\n").starts_with("t.conf:2: relation without a tag"));
        assert!(err("[s\n").starts_with("t.conf:1: section header without ']'"));
        assert!(err("[s] x\n").starts_with("t.conf:1: unexpected text"));
        assert!(err("[s]\na = {\n[t]\n").starts_with("t.conf:3: section header inside"));
        assert!(err("[s]\na = { b = 1 }\n").starts_with("t.conf:2: '{' must end"));
        assert!(err("module x:y\n").starts_with("t.conf:1: profile modules"));
        let deep = format!("[s]\n{}", "a = {\n".repeat(MAX_NESTING + 1));
        assert!(err(&deep).contains("nested deeper"));
    }

    #[test]
    fn finals_and_merge() {
        let mut a = p("[s]*\nx = 1\n[t]\nsub = {\n y = 1\n}*\nfin* = 1\n[u]\nz = 1\n");
        assert!(a.root().entries()[0].is_final());
        let b = p("[s]\nx = 2\n[t]\nsub = {\n y = 2\n w = 2\n}\nfin = 2\nother = 2\n[u]\nz = 2\n[v]\nq = 2\n");
        a.merge(b);
        assert_eq!(a.get_all(&["s", "x"]), vec!["1"]);
        assert_eq!(a.get_all(&["t", "sub", "y"]), vec!["1"]);
        assert_eq!(a.get(&["t", "sub", "w"]), None);
        assert_eq!(a.get_all(&["t", "fin"]), vec!["1", "2"], "a final relation has no effect, as in MIT");
        assert_eq!(a.get(&["t", "other"]), Some("2"));
        assert_eq!(a.get_all(&["u", "z"]), vec!["1", "2"]);
        assert_eq!(a.get(&["v", "q"]), Some("2"));
        // The tag form of a final subsection.
        let mut c = p("[s]\nsub* = {\n y = 1\n}\n");
        c.merge(p("[s]\nsub = {\n y = 2\n}\n"));
        assert_eq!(c.get_all(&["s", "sub", "y"]), vec!["1"]);
        // A final section inside one file does not hide its own repeats.
        assert_eq!(p("[s]*\na = 1\n[s]\na = 2\n").get_all(&["s", "a"]), vec!["1", "2"]);
    }

    #[test]
    fn durations() {
        let ok = [
            ("8h 0m 0s", 28800),
            ("10h", 36000),
            ("30m", 1800),
            ("1d", 86400),
            ("7d 0h 0m 0s", 604800),
            ("36000", 36000),
            ("1:30:00", 5400),
            ("1:30", 5400),
            ("2d3h", 183600),
            ("2d 3h", 183600),
            ("1h90m", 9000),
            ("1d2h3m4s", 93784),
            ("01:02:03", 3723),
            (" 5h ", 18000),
            ("-1h", -3600),
            ("0", 0),
            ("2147483647", 2147483647),
            ("24855d", 2147472000),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text).unwrap_or_else(|e| panic!("{text}: {e}")), want, "{text}");
        }
        for bad in [
            "",
            "h",
            "1 h",
            "1m 1h",
            "1h 1h",
            "1d 2",
            "2 3",
            "1:",
            "1::2",
            "1:2:3:4",
            "1x",
            "1.5h",
            "+5",
            "2147483648",
            "24856d",
            "99999999999999999999",
        ] {
            assert_eq!(parse_duration(bad).expect_err(bad).code(), ErrorCode::KTIX_ERR_CONFIG, "{bad}");
        }
    }

    #[test]
    fn booleans() {
        for t in ["true", "TRUE", "yes", "Yes", "on", "1", "t", "y"] {
            assert!(parse_bool(t).expect(t));
        }
        for f in ["false", "No", "off", "OFF", "0", "nil", "n"] {
            assert!(!parse_bool(f).expect(f));
        }
        assert!(parse_bool("maybe").is_err());
        assert!(parse_bool("").is_err());
    }

    #[test]
    fn enctype_lists() {
        use Enctype::*;
        let cases: &[(&str, &[Enctype])] = &[
            ("aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196]),
            ("aes256-cts:normal, aes128-cts:special", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196]),
            ("des3-cbc-sha1 arcfour-hmac rc4-hmac camellia256-cts-cmac aes128-sha2", &[Aes128CtsHmacSha256128]),
            ("DEFAULT", &Enctype::ALL),
            (
                "DEFAULT -aes128-cts-hmac-sha1-96",
                &[Aes256CtsHmacSha384192, Aes256CtsHmacSha196, Aes128CtsHmacSha256128],
            ),
            ("aes-sha2", &[Aes256CtsHmacSha384192, Aes128CtsHmacSha256128]),
            ("aes", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196, Aes256CtsHmacSha384192, Aes128CtsHmacSha256128]),
            ("+aes-sha1 -aes256-cts aes256-sha1", &[Aes128CtsHmacSha196, Aes256CtsHmacSha196]),
            ("18,18,17", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_enctypes(text).unwrap_or_else(|e| panic!("{text}: {e}")), *want, "{text}");
        }
        for bad in ["", "des3-cbc-sha1 arcfour-hmac", "aes -aes", ", ,"] {
            assert_eq!(parse_enctypes(bad).expect_err(bad).code(), ErrorCode::KTIX_ERR_CONFIG);
        }
    }

    #[test]
    fn default_ports() {
        assert_eq!(with_default_port("kdc", 88), "kdc:88");
        assert_eq!(with_default_port("kdc:750", 88), "kdc:750");
        assert_eq!(with_default_port("[::1]", 88), "[::1]:88");
        assert_eq!(with_default_port("[::1]:750", 88), "[::1]:750");
        assert_eq!(with_default_port("::1", 88), "[::1]:88");
    }

    #[test]
    fn listen_addresses() {
        let v = parse_listen_addrs("750,88 127.0.0.1:1088, [::1]:99 10.0.0.1 [::2] 88").expect("parses");
        let want: Vec<SocketAddr> =
            ["0.0.0.0:750", "0.0.0.0:88", "127.0.0.1:1088", "[::1]:99", "10.0.0.1:88", "[::2]:88"]
                .iter()
                .map(|s| s.parse().expect("addr"))
                .collect();
        assert_eq!(v, want);
        for bad in ["0", "70000", "host.example:88", "[::1", "[::1]x", "x"] {
            assert!(parse_listen_addrs(bad).is_err(), "{bad}");
        }
        assert!(parse_listen_addrs("").expect("empty").is_empty());
    }

    #[test]
    fn domain_realm_walk() {
        let c = Krb5Conf::parse(
            "[domain_realm]\n.mit.edu = ATHENA\nmit.edu = ATHENA\n.media.mit.edu = MEDIA\nexample.com = EX\nhost.other.org = HOST\n",
            "t",
        )
        .expect("parses");
        assert_eq!(c.realm_for_host("www.mit.edu"), Some("ATHENA"));
        assert_eq!(c.realm_for_host("MIT.EDU."), Some("ATHENA"));
        assert_eq!(c.realm_for_host("a.media.mit.edu"), Some("MEDIA"));
        assert_eq!(c.realm_for_host("media.mit.edu"), Some("ATHENA"));
        assert_eq!(c.realm_for_host("www.example.com"), Some("EX"));
        assert_eq!(c.realm_for_host("host.other.org"), Some("HOST"));
        assert_eq!(c.realm_for_host("x.other.org"), None);
        assert_eq!(c.realm_for_host(""), None);
        assert_eq!(c.realm_for_host("."), None);
    }

    #[test]
    fn bad_values_name_their_origin() {
        let e = Krb5Conf::parse("[libdefaults]\n\nticket_lifetime = 10x\n", "k.conf").expect_err("bad");
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
        assert!(e.message().starts_with("k.conf:3: libdefaults.ticket_lifetime: invalid duration"), "{e}");
    }
}
