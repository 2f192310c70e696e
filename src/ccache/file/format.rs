//! MIT's FILE credential cache: the byte format, parsed into and serialized from a cache's
//! [`State`](crate::ccache::State).
//!
//! The format (MIT's "Credential cache file format"; all integers big-endian in versions 3 and 4):
//!
//! ```text
//! u16  version                 0x0504 (read and written) or 0x0503 (read)
//! u16  header length           0x0504 only, then fields: u16 tag, u16 length, value
//!                                (tag 1: KDC time offset, two u32: seconds, microseconds)
//! principal                    the default principal
//! credential*                  until the end of the file
//!
//! principal  = u32 name type, u32 component count, data realm, data component*
//! data       = u32 length + bytes
//! credential = principal client, principal server,
//!              keyblock (u16 enctype [0x0503: a second u16 enctype], data key),
//!              u32 authtime, u32 starttime, u32 endtime, u32 renew_till, u8 is_skey, u32 ticket flags,
//!              u32 count + (u16 type, data)* addresses, u32 count + (u16 type, data)* authdata,
//!              data ticket, data second ticket
//! ```
//!
//! Versions 1 and 2 (native byte order) are refused. Files are always written as 0x0504, with the
//! header fields that were read kept as they were; so a cache MIT wrote re-serializes byte for byte
//! (except for entries MIT marked as removed, which are dropped). A last credential cut short (a
//! writer died while appending it) is dropped too; see [`parse_layout`].

use std::borrow::Cow;

use zeroize::Zeroizing;

use crate::ccache::{Entry, RawCredential, RawName, State};
use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::{EntryKey, OpaqueKey};

/// The largest credential cache file read or written (16 MiB; a cache with thousands of tickets
/// is far smaller).
pub const MAX_CCACHE_SIZE: usize = 16 << 20;

/// Format version 3: big-endian, no header, the key's enctype stored twice.
const VERSION_3: u16 = 0x0503;
/// Format version 4: big-endian, with header fields.
pub(super) const VERSION_4: u16 = 0x0504;
/// The header field holding the KDC time offset.
pub(in crate::ccache) const TAG_KDC_OFFSET: u16 = 1;

fn bad(offset: usize, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("credential cache: {why} (offset {offset})"))
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// What a field is, for error messages: a prefix and a noun (`("the length of ", "the ticket")`),
/// joined only when an error is reported, so that reading allocates nothing for messages.
type What<'w> = (&'w str, &'w str);

/// A bounds-checked big-endian cursor; offsets in errors are from the start of the file.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Set when a read ran past the end of the buffer (a truncated file, or a length or count
    /// larger than what is left).
    overrun: bool,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, (pre, what): What<'_>) -> Result<&'a [u8]> {
        if n > self.left() {
            self.overrun = true;
            return Err(bad(self.pos, format!("{pre}{what} needs {n} bytes, {} left in the file", self.left())));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, ("", what))?[0])
    }

    fn u16(&mut self, what: What<'_>) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: What<'_>) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A counted octet string (u32 length + bytes).
    fn data(&mut self, (pre, what): What<'_>) -> Result<&'a [u8]> {
        let at = self.pos;
        let n = self.u32(("", "a length")).map_err(|_| {
            bad(at, format!("the length of {pre}{what} needs 4 bytes, {} left in the file", self.left()))
        })?;
        self.take(n as usize, (pre, what))
    }

    /// A u32 count of items that take at least `min_item` bytes each, checked against what is left.
    fn count(&mut self, min_item: usize, (pre, what): What<'_>) -> Result<usize> {
        let at = self.pos;
        let n = self.u32(("", "a count")).map_err(|_| {
            bad(at, format!("the number of {pre}{what} needs 4 bytes, {} left in the file", self.left()))
        })? as usize;
        if n.saturating_mul(min_item) > self.left() {
            self.overrun = true;
            return Err(bad(at, format!("{n} {pre}{what} cannot fit in the {} bytes left", self.left())));
        }
        Ok(n)
    }

    fn name(&mut self, what: &str) -> Result<RawName> {
        let name_type = self.u32(("the name type of ", what))?;
        let count = self.count(4, ("name components of ", what))?;
        let realm = self.data(("the realm of ", what))?.to_vec();
        let mut components = Vec::with_capacity(count);
        for _ in 0..count {
            components.push(self.data(("a name component of ", what))?.to_vec());
        }
        Ok(RawName { name_type, realm, components })
    }

    fn typed_list(&mut self, what: &str) -> Result<Vec<(u16, Vec<u8>)>> {
        let n = self.count(6, ("", what))?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let t = self.u16(("the type of one of the ", what))?;
            out.push((t, self.data(("one of the ", what))?.to_vec()));
        }
        Ok(out)
    }
}

/// Parses FILE-cache bytes and, when they name a principal, writes them out, re-parses that and
/// writes it once more: `Ok(false)` when the two writes differ (a reader/writer mismatch). For the
/// fuzz targets.
pub(crate) fn round_trip(bytes: &[u8]) -> Result<bool> {
    let state = parse(bytes)?;
    if state.principal.is_none() {
        return Ok(true);
    }
    let first = serialize(&state)?;
    let second = serialize(&parse(&first)?)?;
    Ok(first == second)
}

/// Where things are in a parsed file, for changing it in place.
pub(super) struct Layout {
    /// The format version (0x0504 or 0x0503).
    pub version: u16,
    /// For each entry of the parsed [`State`] (in order), the offset of its ticket times (four
    /// u32: auth, start, end, renew-till), where a removal is marked.
    pub times_at: Vec<usize>,
    /// The end of the last whole credential: the file's length, or less when the last record is
    /// torn (cut short by a crash while it was appended).
    pub valid_end: usize,
}

/// Parses a credential cache file (format 0x0504 or 0x0503).
pub(super) fn parse(bytes: &[u8]) -> Result<State> {
    parse_layout(bytes).map(|(state, _)| state)
}

/// Parses a credential cache file, and says where its credentials are.
///
/// A last credential that runs past the end of the file is a torn append (a writer died in the
/// middle of it) and is dropped, as MIT's reader stops at a credential it cannot read whole
/// (`KRB5_CC_END`); every other malformation is a [`ErrorCode::KTIX_ERR_BAD_FILE`] error.
pub(super) fn parse_layout(bytes: &[u8]) -> Result<(State, Layout)> {
    let mut r = Reader { buf: bytes, pos: 0, overrun: false };
    let version = r.u16(("", "the file format version"))?;
    match version {
        VERSION_4 | VERSION_3 => {}
        0x0501 | 0x0502 => {
            return Err(bad(
                0,
                format!("file format version 0x{version:04x} is not supported (only 0x0503 and 0x0504)"),
            ))
        }
        _ => return Err(bad(0, format!("unknown file format version 0x{version:04x} (not a credential cache?)"))),
    }
    let mut header = Vec::new();
    if version == VERSION_4 {
        let len = usize::from(r.u16(("", "the header length"))?);
        let start = r.pos;
        let mut h = Reader { buf: &bytes[..start + len.min(r.left())], pos: start, overrun: false };
        r.take(len, ("", "the header"))?;
        while h.left() > 0 {
            let tag = h.u16(("", "a header field tag"))?;
            let len = usize::from(h.u16(("", "a header field length"))?);
            let value = h.take(len, ("", "a header field"))?;
            header.push((tag, value.to_vec()));
        }
    }
    let principal_at = r.pos;
    let default = r.name("the default principal")?;
    let principal = default
        .to_principal()
        .ok_or_else(|| bad(principal_at, format!("the default principal {} is not a valid name", default.display())))?;
    let mut entries = Vec::new();
    let mut times_at = Vec::new();
    let mut n = 0usize;
    while r.left() > 0 {
        let at = r.pos;
        let (raw, times) = match parse_credential(&mut r, version) {
            Ok(c) => c,
            // Ran out of file: a torn last record.
            Err(_) if r.overrun => {
                r.pos = at;
                break;
            }
            Err(e) => return Err(e.context(format!("credential {n} at offset {at}"))),
        };
        n += 1;
        if raw.is_removed() {
            continue;
        }
        entries.push(Entry::classify(raw));
        times_at.push(times);
    }
    let layout = Layout { version, times_at, valid_end: r.pos };
    Ok((State { principal: Some(principal), header, entries }, layout))
}

/// One credential, and the offset of its ticket times.
fn parse_credential(r: &mut Reader<'_>, version: u16) -> Result<(RawCredential, usize)> {
    let client = r.name("the client")?;
    let server = r.name("the server")?;
    let enctype = r.u16(("", "the key's enctype"))?;
    if version == VERSION_3 {
        r.u16(("", "the key's second enctype"))?;
    }
    let key_bytes = r.data(("", "the key"))?;
    let key = match Enctype::from_i32(i32::from(enctype)).and_then(|t| Key::new(t, key_bytes)) {
        Ok(k) => EntryKey::Supported(k),
        // An enctype libktix does not implement (or a key of the wrong length for one it does):
        // kept as it is, never used.
        Err(_) => EntryKey::Unsupported(OpaqueKey::new(enctype, key_bytes)),
    };
    let times_at = r.pos;
    let raw = RawCredential {
        client,
        server,
        key,
        auth_time: r.u32(("", "the auth time"))?,
        start_time: r.u32(("", "the start time"))?,
        end_time: r.u32(("", "the end time"))?,
        renew_till: r.u32(("", "the renew-till time"))?,
        is_skey: r.u8("is_skey")?,
        flags: r.u32(("", "the ticket flags"))?,
        addresses: r.typed_list("addresses")?,
        authdata: r.typed_list("authorization data elements")?,
        ticket: r.data(("", "the ticket"))?.to_vec(),
        second_ticket: r.data(("", "the second ticket"))?.to_vec(),
    };
    Ok((raw, times_at))
}

// ---------------------------------------------------------------------------------------------
// Serializing
// ---------------------------------------------------------------------------------------------

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn len32(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::invalid(format!("{what} is too long for a credential cache")))
}

fn put_data(out: &mut Vec<u8>, data: &[u8], what: &str) -> Result<()> {
    put_u32(out, len32(data.len(), what)?);
    out.extend_from_slice(data);
    Ok(())
}

fn put_name(out: &mut Vec<u8>, name: &RawName) -> Result<()> {
    put_u32(out, name.name_type);
    put_u32(out, len32(name.components.len(), "a principal name")?);
    put_data(out, &name.realm, "a realm")?;
    for c in &name.components {
        put_data(out, c, "a name component")?;
    }
    Ok(())
}

fn put_typed_list(out: &mut Vec<u8>, list: &[(u16, Vec<u8>)], what: &str) -> Result<()> {
    put_u32(out, len32(list.len(), what)?);
    for (t, d) in list {
        put_u16(out, *t);
        put_data(out, d, what)?;
    }
    Ok(())
}

fn put_credential(out: &mut Vec<u8>, c: &RawCredential) -> Result<()> {
    put_name(out, &c.client)?;
    put_name(out, &c.server)?;
    let enctype = match &c.key {
        EntryKey::Supported(k) => u16::try_from(k.enctype().id())
            .map_err(|_| Error::invalid("an enctype number does not fit a credential cache"))?,
        EntryKey::Unsupported(o) => u16::try_from(o.enctype()).unwrap_or(0),
    };
    put_u16(out, enctype);
    put_data(out, c.key.bytes(), "a key")?;
    for t in [c.auth_time, c.start_time, c.end_time, c.renew_till] {
        put_u32(out, t);
    }
    out.push(c.is_skey);
    put_u32(out, c.flags);
    put_typed_list(out, &c.addresses, "the addresses")?;
    put_typed_list(out, &c.authdata, "the authorization data")?;
    put_data(out, &c.ticket, "a ticket")?;
    put_data(out, &c.second_ticket, "a second ticket")
}

/// The bytes of one entry as a credential record of a version 0x0504 file.
pub(super) fn record(entry: &Entry) -> Result<Zeroizing<Vec<u8>>> {
    let raw = match entry {
        Entry::Ticket(c) => Cow::Owned(RawCredential::from_credential(c)?),
        Entry::Raw(r) => Cow::Borrowed(r),
    };
    // The exact size up front (see `serialize`).
    let mut out = Zeroizing::new(Vec::with_capacity(credential_len(&raw)));
    put_credential(&mut out, &raw)?;
    Ok(out)
}

/// The ticket times that mark a credential as removed, as MIT's `krb5_cc_remove_cred` writes
/// them in place: auth time -1 (not 0, which configuration entries have) and end time 0.
pub(super) fn removed_times(times: &[u8; 16]) -> [u8; 16] {
    let mut out = *times;
    out[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    out[8..12].copy_from_slice(&0u32.to_be_bytes());
    out
}

/// The file bytes of `state` (format 0x0504). The state must have a principal.
pub(super) fn serialize(state: &State) -> Result<Zeroizing<Vec<u8>>> {
    let principal =
        state.principal.as_ref().ok_or_else(|| Error::invalid("an uninitialized cache has no file form"))?;
    let principal = RawName::from(principal);
    let creds = state
        .entries
        .iter()
        .map(|e| match e {
            Entry::Ticket(c) => RawCredential::from_credential(c).map(Cow::Owned),
            Entry::Raw(r) => Ok(Cow::Borrowed(r)),
        })
        .collect::<Result<Vec<Cow<'_, RawCredential>>>>()?;
    // The exact size up front: the buffer holds keys, and a growing Vec would leave copies of
    // them in the freed smaller buffers, which `Zeroizing` never sees.
    let header_len: usize = state.header.iter().map(|(_, v)| 4 + v.len()).sum();
    let total = 4 + header_len + name_len(&principal) + creds.iter().map(|c| credential_len(c)).sum::<usize>();
    if total > MAX_CCACHE_SIZE {
        return Err(Error::invalid(format!(
            "the credential cache would be {total} bytes, more than the {MAX_CCACHE_SIZE} allowed"
        )));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    put_u16(&mut out, VERSION_4);
    put_u16(&mut out, u16::try_from(header_len).map_err(|_| Error::invalid("the cache header is too long"))?);
    for (tag, value) in &state.header {
        put_u16(&mut out, *tag);
        put_u16(&mut out, u16::try_from(value.len()).map_err(|_| Error::invalid("a header field is too long"))?);
        out.extend_from_slice(value);
    }
    put_name(&mut out, &principal)?;
    for c in &creds {
        put_credential(&mut out, c)?;
    }
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

fn name_len(n: &RawName) -> usize {
    12 + n.realm.len() + n.components.iter().map(|c| 4 + c.len()).sum::<usize>()
}

fn credential_len(c: &RawCredential) -> usize {
    let list = |l: &[(u16, Vec<u8>)]| 4 + l.iter().map(|(_, d)| 6 + d.len()).sum::<usize>();
    name_len(&c.client)
        + name_len(&c.server)
        + 2
        + 4
        + c.key.bytes().len()
        + 16
        + 1
        + 4
        + list(&c.addresses)
        + list(&c.authdata)
        + 4
        + c.ticket.len()
        + 4
        + c.second_ticket.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccache::{CacheEntry, Credential};
    use crate::principal::Principal;
    use crate::time::Time;
    use crate::wire::Flags;

    fn p(s: &str) -> Principal {
        Principal::parse(s, None).unwrap()
    }

    fn sample() -> State {
        let cred = Credential {
            client: p("alice@R"),
            server: p("krbtgt/R@R"),
            key: Key::new(Enctype::Aes128CtsHmacSha196, &[7; 16]).unwrap(),
            auth_time: Time::from_unix(100),
            start_time: Some(Time::from_unix(101)),
            end_time: Time::from_unix(1000),
            renew_till: Some(Time::from_unix(2000)),
            flags: Flags(0x40e1_0000),
            is_skey: true,
            addresses: vec![(2, vec![127, 0, 0, 1])],
            authdata: vec![(1, vec![0x30, 0])],
            ticket: vec![0x61, 1, 0],
            second_ticket: vec![0x61, 1, 1],
        };
        State {
            principal: Some(p("alice@R")),
            header: vec![(TAG_KDC_OFFSET, vec![0, 0, 0, 5, 0, 0, 0, 6]), (99, vec![1])],
            entries: vec![Entry::Ticket(cred)],
        }
    }

    #[test]
    fn serialize_parse_round_trip() {
        let s = sample();
        let bytes = serialize(&s).unwrap();
        assert_eq!(&bytes[..4], &[5, 4, 0, 17]);
        let back = parse(&bytes).unwrap();
        assert_eq!(back.principal, s.principal);
        assert_eq!(back.header, s.header);
        assert_eq!(&*serialize(&back).unwrap(), &*bytes);
        match back.entries().as_slice() {
            [CacheEntry::Ticket(c)] => {
                assert_eq!(c.flags, Flags(0x40e1_0000));
                assert!(c.is_skey);
                assert_eq!(c.key.bytes(), &[7; 16]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncation_is_bad_file_before_the_credentials_and_drops_a_torn_last_one() {
        let bytes = serialize(&sample()).unwrap();
        let one = parse_layout(&bytes).unwrap().1;
        let mut empty = sample();
        empty.entries.clear();
        let first_credential = serialize(&empty).unwrap().len();
        for n in 0..bytes.len() {
            match parse_layout(&bytes[..n]) {
                Ok((s, layout)) => {
                    assert!(n >= first_credential, "{n}");
                    assert!(s.entries.is_empty(), "{n}");
                    assert_eq!(layout.valid_end, first_credential, "{n}");
                }
                Err(e) => {
                    assert!(n < first_credential, "{n}: {e}");
                    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{n}");
                    assert!(e.message().contains("offset"), "{e}");
                }
            }
        }
        // Two credentials, the second torn: the first is kept.
        let mut two = sample();
        two.entries.push(two.entries[0].clone());
        let bytes = serialize(&two).unwrap();
        let (s, layout) = parse_layout(&bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(s.entries.len(), 1);
        assert_eq!(layout.valid_end, one.valid_end);
        // A removal mark hides the credential.
        let mut marked = bytes.to_vec();
        let at = layout.times_at[0];
        let times: [u8; 16] = marked[at..at + 16].try_into().unwrap();
        marked[at..at + 16].copy_from_slice(&removed_times(&times));
        assert_eq!(parse(&marked).unwrap().entries.len(), 1);
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        let mut b = vec![5, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        let e = parse(&b).unwrap_err();
        assert!(e.message().contains("cannot fit"), "{e}");
        b.truncate(8);
        b.extend_from_slice(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0]);
        let e = parse(&b).unwrap_err();
        assert!(e.message().contains("the realm of the default principal needs"), "{e}");
    }
}
