//! The profile tree: [`Profile`] (one file or several merged, with MIT's final marks), its
//! sections and relations ([`ProfileNode`], [`ProfileEntry`]) and where each was written
//! ([`Origin`]). The text is read by the parser (`parser.rs`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::parser::{dir_profile_files, parse_file, parse_into, MAX_FILES};
use crate::error::{Error, Result};

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
    pub(super) name: String,
    pub(super) value: EntryValue,
    pub(super) is_final: bool,
    pub(super) origin: Origin,
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
    pub(super) entries: Vec<ProfileEntry>,
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
    pub(super) fn relation(&self, path: &[&str]) -> Option<(&str, &Origin)> {
        self.root.find(path).into_iter().find_map(|e| e.text().map(|t| (t, &e.origin)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Profile {
        Profile::parse(text, "t.conf").expect("parses")
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
}
