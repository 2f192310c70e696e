//! The token framing of RFC 2743 §3.1 (`0x60 length 0x06 oid-length oid inner-token`) and the
//! two-byte token identifiers of the Kerberos V5 mechanism (RFC 1964 §1.1, RFC 4121 §4.1, §4.2.6).
//!
//! Context-establishment tokens of the krb5 mechanism are framed; the per-message tokens of
//! RFC 4121 (MIC, Wrap) are not, and neither is a SPNEGO NegTokenResp.

use super::oid;
use crate::error::{Error, ErrorCode, Result};
use crate::wire::{push_len, tlv};

/// The token id of a krb5 initial context token carrying an AP-REQ.
pub(crate) const TOK_AP_REQ: [u8; 2] = [0x01, 0x00];
/// The token id of a krb5 context token carrying an AP-REP.
pub(crate) const TOK_AP_REP: [u8; 2] = [0x02, 0x00];
/// The token id of a krb5 context token carrying a KRB-ERROR.
pub(crate) const TOK_KRB_ERROR: [u8; 2] = [0x03, 0x00];
/// The token id of an RFC 4121 MIC token.
pub(crate) const TOK_MIC: [u8; 2] = [0x04, 0x04];
/// The token id of an RFC 4121 Wrap token.
pub(crate) const TOK_WRAP: [u8; 2] = [0x05, 0x04];

/// The identifier of the framing's outer `[APPLICATION 0]` constructed tag.
const APPLICATION_0: u8 = 0x60;
/// The identifier of an OBJECT IDENTIFIER.
const OID_TAG: u8 = 0x06;

pub(crate) fn defective(what: impl Into<String>) -> Error {
    Error::new(ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN, what)
}

/// Frames `inner` as an RFC 2743 §3.1 initial context token of mechanism `mech` (the OID's DER
/// content bytes): `0x60 len 0x06 oidlen oid inner`, lengths in DER definite form.
pub(crate) fn frame(mech: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut oid_tlv = Vec::with_capacity(mech.len() + 6);
    oid_tlv.push(OID_TAG);
    push_len(&mut oid_tlv, mech.len());
    oid_tlv.extend_from_slice(mech);
    let body_len = oid_tlv.len() + inner.len();
    let mut out = Vec::with_capacity(body_len + 6);
    out.push(APPLICATION_0);
    push_len(&mut out, body_len);
    out.extend_from_slice(&oid_tlv);
    out.extend_from_slice(inner);
    out
}

/// Splits an RFC 2743 §3.1 framed token into the mechanism OID (content bytes) and the inner
/// token. Strict: a wrong outer or OID tag, a truncated, indefinite or non-minimal length, an
/// empty OID or bytes after the framed token are `KTIX_ERR_GSS_DEFECTIVE_TOKEN`.
pub(crate) fn unframe(token: &[u8]) -> Result<(&[u8], &[u8])> {
    if token.first() != Some(&APPLICATION_0) {
        return Err(defective("not a framed GSS-API token (no [APPLICATION 0] tag)"));
    }
    let outer = tlv(token, 0).map_err(|e| defective(format!("GSS-API token framing: {}", e.message())))?;
    if outer.end() != token.len() {
        return Err(defective(format!("{} bytes after the framed GSS-API token", token.len() - outer.end())));
    }
    if token.get(outer.start) != Some(&OID_TAG) {
        return Err(defective("GSS-API token framing: no mechanism OID"));
    }
    let mech =
        tlv(token, outer.start).map_err(|e| defective(format!("GSS-API token mechanism OID: {}", e.message())))?;
    if mech.len == 0 || mech.end() > outer.end() {
        return Err(defective("GSS-API token framing: bad mechanism OID"));
    }
    Ok((&token[mech.start..mech.end()], &token[mech.end()..outer.end()]))
}

/// A framed krb5 mechanism token: the framing with [`oid::KRB5`], then the token id, then `body`.
pub(crate) fn krb5_token(tok_id: [u8; 2], body: &[u8]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(body.len() + 2);
    inner.extend_from_slice(&tok_id);
    inner.extend_from_slice(body);
    frame(oid::KRB5, &inner)
}

/// Parses a framed krb5 mechanism token: its token id and body. Any of the three krb5 OIDs is
/// accepted; another mechanism is `KTIX_ERR_GSS_BAD_MECH`; bad framing, or no room for the
/// token id, is `KTIX_ERR_GSS_DEFECTIVE_TOKEN`.
pub(crate) fn parse_krb5_token(token: &[u8]) -> Result<([u8; 2], &[u8])> {
    let (mech, inner) = unframe(token)?;
    if !oid::is_krb5(mech) {
        let name = oid::to_dotted(mech).unwrap_or_else(|_| "a malformed OID".into());
        return Err(Error::new(
            ErrorCode::KTIX_ERR_GSS_BAD_MECH,
            format!("token of mechanism {name}, not Kerberos V5"),
        ));
    }
    match inner {
        [a, b, body @ ..] => Ok(([*a, *b], body)),
        _ => Err(defective("krb5 token without a token id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn frames_like_rfc_2743() {
        let t = krb5_token(TOK_AP_REQ, &[0xAA, 0xBB]);
        assert_eq!(
            t,
            [0x60, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0xAA, 0xBB]
        );
        assert_eq!(parse_krb5_token(&t).unwrap(), (TOK_AP_REQ, &[0xAA, 0xBB][..]));
        let (mech, inner) = unframe(&t).unwrap();
        assert_eq!((mech, inner), (oid::KRB5, &[0x01, 0x00, 0xAA, 0xBB][..]));
    }

    #[test]
    fn long_form_lengths_for_big_tokens() {
        for n in [0usize, 1, 100, 105, 106, 107, 200, 255, 256, 300, 65_000, 70_000, 1 << 20] {
            let body = vec![0x5a; n];
            let t = krb5_token(TOK_AP_REP, &body);
            let total = 2 + oid::KRB5.len() + 2 + n;
            match total {
                0..=127 => assert_eq!(t[1] as usize, total),
                128..=255 => assert_eq!(t[1..3], [0x81, total as u8]),
                256..=65535 => assert_eq!(t[1..4], [0x82, (total >> 8) as u8, total as u8]),
                _ => assert_eq!(t[1..5], [0x83, (total >> 16) as u8, (total >> 8) as u8, total as u8]),
            }
            let (id, b) = parse_krb5_token(&t).unwrap();
            assert_eq!((id, b.len()), (TOK_AP_REP, n));
        }
    }

    #[test]
    fn every_krb5_oid_and_no_other() {
        for mech in [oid::KRB5, oid::KRB5_MS, oid::KRB5_OLD] {
            let t = frame(mech, &[0x03, 0x00, 0x30, 0x00]);
            assert_eq!(parse_krb5_token(&t).unwrap(), (TOK_KRB_ERROR, &[0x30, 0x00][..]));
        }
        let spnego = frame(oid::SPNEGO, &[0xa0, 0x00]);
        assert_eq!(code(parse_krb5_token(&spnego)), ErrorCode::KTIX_ERR_GSS_BAD_MECH);
        assert_eq!(unframe(&spnego).unwrap(), (oid::SPNEGO, &[0xa0, 0x00][..]));
    }

    #[test]
    fn strict_parsing() {
        let good = krb5_token(TOK_MIC, b"body");
        let d = ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN;
        // Every truncation, and one byte too many.
        for cut in 0..good.len() {
            assert_eq!(code(parse_krb5_token(&good[..cut])), d, "cut {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(code(parse_krb5_token(&long)), d);
        // Wrong outer tag, wrong OID tag.
        let mut t = good.clone();
        t[0] = 0x30;
        assert_eq!(code(parse_krb5_token(&t)), d);
        let mut t = good.clone();
        t[2] = 0x04;
        assert_eq!(code(parse_krb5_token(&t)), d);
        // An OID length past the outer length; an empty OID.
        let mut t = good.clone();
        t[3] = 0x7f;
        assert_eq!(code(parse_krb5_token(&t)), d);
        assert_eq!(code(unframe(&[0x60, 0x02, 0x06, 0x00])), d);
        // Indefinite, non-minimal and oversized lengths.
        assert_eq!(code(unframe(&[0x60, 0x80, 0x06, 0x01, 0x2a, 0x00, 0x00])), d);
        assert_eq!(code(unframe(&[0x60, 0x81, 0x03, 0x06, 0x01, 0x2a])), d);
        assert_eq!(code(unframe(&[0x60, 0x85, 0, 0, 0, 0, 3, 0x06, 0x01, 0x2a])), d);
        assert_eq!(code(unframe(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff])), d);
        // The token id must be there (an empty inner token is framing, not a krb5 token).
        assert_eq!(unframe(&frame(oid::KRB5, &[])).unwrap().1, b"");
        assert_eq!(code(parse_krb5_token(&frame(oid::KRB5, &[0x01]))), d);
        // A malformed foreign OID is still a foreign mechanism.
        assert_eq!(code(parse_krb5_token(&frame(&[0x80], &[1, 0]))), ErrorCode::KTIX_ERR_GSS_BAD_MECH);
    }
}
