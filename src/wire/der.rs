//! A minimal DER reader for the few places that need bytes exactly as received (the
//! KDC-REQ-BODY under the TGS authenticator checksum) or a look at a message's outer tag.

use crate::error::{Error, Result};

/// One TLV header: the identifier byte, where the content starts and its length.
#[derive(Debug)]
pub struct Tlv {
    /// The identifier byte.
    pub tag: u8,
    /// The offset of the first content byte.
    pub start: usize,
    /// The content length.
    pub len: usize,
}

impl Tlv {
    /// The offset just past the content.
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Reads the TLV header at `pos` (single-byte tags only, definite DER lengths of at most 4 bytes,
/// minimal length encodings only); the content must lie inside `buf`. `KTIX_ERR_MALFORMED`
/// otherwise.
pub fn tlv(buf: &[u8], pos: usize) -> Result<Tlv> {
    let bad = |why: &str| Error::malformed(format_args!("DER at offset {pos}: {why}"));
    let tag = *buf.get(pos).ok_or_else(|| bad("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("multi-byte tag"));
    }
    let first = *buf.get(pos + 1).ok_or_else(|| bad("truncated length"))?;
    let (len, start) = if first < 0x80 {
        (first as usize, pos + 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(bad("indefinite or oversized length"));
        }
        let bytes = buf.get(pos + 2..pos + 2 + n).ok_or_else(|| bad("truncated length"))?;
        if bytes[0] == 0 {
            return Err(bad("non-minimal length"));
        }
        let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        if len < 0x80 {
            return Err(bad("non-minimal length"));
        }
        (len, pos + 2 + n)
    };
    if start.checked_add(len).is_none_or(|end| end > buf.len()) {
        return Err(bad("value runs past the end"));
    }
    Ok(Tlv { tag, start, len })
}

/// Appends the DER definite-form encoding of `len` (short form below 128, else long form with
/// the fewest length octets).
#[inline]
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        push_long_len(out, len);
    }
}

/// The long form of [`push_len`].
fn push_long_len(out: &mut Vec<u8>, len: usize) {
    let n = (usize::BITS - len.leading_zeros()).div_ceil(8) as usize;
    out.push(0x80 | n as u8);
    out.extend_from_slice(&len.to_be_bytes()[size_of::<usize>() - n..]);
}

/// The APPLICATION tag number of a message (`0x60 | n` constructed), e.g. 10 for an AS-REQ;
/// `None` when the first byte is not an APPLICATION tag.
pub fn message_tag(msg: &[u8]) -> Option<u8> {
    match msg.first() {
        Some(&b) if b & 0xe0 == 0x60 && b & 0x1f != 0x1f => Some(b & 0x1f),
        _ => None,
    }
}

/// The KDC-REQ-BODY of an AS-REQ or TGS-REQ exactly as it appears in `req` (the full
/// SEQUENCE TLV inside the `[4]` field). The TGS authenticator checksum covers these bytes;
/// re-encoding a decoded body is not guaranteed to give them back.
pub fn req_body_bytes(req: &[u8]) -> Result<&[u8]> {
    let outer = tlv(req, 0)?;
    if !matches!(message_tag(req), Some(10 | 12)) || outer.start + outer.len != req.len() {
        return Err(Error::malformed("KDC-REQ: not an AS-REQ or TGS-REQ"));
    }
    let seq = tlv(req, outer.start)?;
    if seq.tag != 0x30 {
        return Err(Error::malformed("KDC-REQ: no SEQUENCE"));
    }
    let mut pos = seq.start;
    let end = seq.start + seq.len;
    while pos < end {
        let field = tlv(req, pos)?;
        if field.tag == 0xa4 {
            let body = tlv(req, field.start)?;
            if body.tag != 0x30 || body.start + body.len != field.start + field.len {
                return Err(Error::malformed("KDC-REQ-BODY: not one SEQUENCE"));
            }
            return Ok(&req[field.start..body.start + body.len]);
        }
        pos = field.start + field.len;
    }
    Err(Error::malformed("KDC-REQ: no req-body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_lengths() {
        assert!(tlv(&[0x30], 0).is_err());
        assert!(tlv(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0], 0).is_err()); // long form for a short length
        assert!(tlv(&[0x30, 0x82, 0x00, 0x80], 0).is_err()); // leading zero
        assert!(tlv(&[0x30, 0x80], 0).is_err()); // indefinite
        assert!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1], 0).is_err());
        assert!(tlv(&[0x30, 0x03, 1], 0).is_err());
        assert_eq!(tlv(&[0x30, 0x01, 1], 0).unwrap().len, 1);
        assert!(req_body_bytes(&[]).is_err());
        assert_eq!(tlv(&[0x60, 0x81, 0x80], 0).unwrap_err().code(), crate::ErrorCode::KTIX_ERR_MALFORMED);
    }

    #[test]
    fn lengths_encode_minimally_and_read_back() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 0x00ff_ffff, 0x0100_0000] {
            let mut enc = vec![0x04];
            push_len(&mut enc, len);
            let header = enc.len();
            enc.resize(header + len, 0);
            let t = tlv(&enc, 0).unwrap();
            assert_eq!((t.tag, t.start, t.len, t.end()), (0x04, header, len, enc.len()));
        }
        let mut v = Vec::new();
        push_len(&mut v, 200);
        assert_eq!(v, [0x81, 200]);
        assert!(req_body_bytes(&[0x6a, 0x02, 0x30, 0x00]).is_err());
    }
}
