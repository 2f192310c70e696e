//! The profile parser: reads MIT profile text (sections, relations, subsections, final marks,
//! quoted values, `include`/`includedir`) into a [`Profile`](super::Profile) tree, with bounds on
//! file size, include depth, file count and nesting.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config_error;
use super::profile::{EntryValue, Origin, ProfileEntry, ProfileNode};
use crate::error::{Error, ErrorCode, Result};

/// Largest configuration file read (bytes).
pub const MAX_FILE_LEN: usize = 1 << 20;

/// Deepest chain of `include`s (a file including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Most files one profile is read from (including every `include`/`includedir`).
pub(super) const MAX_FILES: usize = 256;

/// Deepest nesting of subsections.
const MAX_NESTING: usize = 32;

/// Reads a file (bounded) and parses it into `root`.
pub(super) fn parse_file(root: &mut ProfileNode, path: &Path, depth: usize, budget: &mut usize) -> Result<()> {
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
pub(super) fn dir_profile_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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

pub(super) fn parse_into(
    root: &mut ProfileNode,
    text: &str,
    source: Arc<str>,
    depth: usize,
    budget: &mut usize,
) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::super::Profile;
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
}
