//! RFC 4120 messages in ASN.1 DER: the types (from `rasn-kerberos`), encode/decode with our
//! error type, and the few conversions every exchange needs (times, flags, names).
//!
//! Nothing here knows about keys or exchanges; sealing and opening encrypted parts lives in
//! [`crate::proto`].

mod codec;
mod dec;
mod der;
mod enc;

/// Decimal digits (the DER time encoder's; the KDC's log lines use them too).
pub(crate) use enc::decimal;

use chrono::{DateTime, FixedOffset, Utc};
use rasn::types::GeneralString;
pub use rasn::types::{Integer, OctetString};

pub use crate::flags::{ap_options, kdc_options, ticket_flags, Flags};
pub use codec::{FromDer, ToDer};
pub use dec::{
    ap_req_paths_agree, as_req_paths_agree, authenticator_paths_agree, decode_ap_req, decode_as_req,
    decode_authenticator, decode_enc_ticket_part, decode_encrypted_data, decode_tgs_req, enc_ticket_part_paths_agree,
    encrypted_data_paths_agree, tgs_req_paths_agree, ApReqIn, AuthenticatorIn, EncTicketPartIn, EncryptedDataIn,
    KdcReqBodyIn, KdcReqIn, NameIn, TicketIn,
};
pub use der::{message_tag, push_len, req_body_bytes, tlv, Tlv};
pub use enc::{
    ApReqOut, AsRepOut, AuthenticatorOut, EncAsRepPartOut, EncKdcRepPartOut, EncTgsRepPartOut, EncTicketPartOut,
    EncryptedDataOut, EtypeInfo2EntryOut, KdcRepOut, KeyBytes, KrbErrorOut, LastReqEntry, Name, PaDataOut, RawDer,
    SeqOf, Str, TgsRepOut, TicketOut,
};
use rasn::types::BitString;
pub use rasn_kerberos::{
    AdIfRelevant, ApOptions, ApRep, ApReq, AsRep, AsReq, Authenticator, AuthorizationData, AuthorizationDataValue,
    Checksum, EncApRepPart, EncAsRepPart, EncKdcRepPart, EncKrbCredPart, EncKrbPrivPart, EncTgsRepPart, EncTicketPart,
    EncryptedData, EncryptionKey, EtypeInfo2, EtypeInfo2Entry, HostAddress, HostAddresses, KdcOptions, KdcRep, KdcReq,
    KdcReqBody, KerberosFlags, KerberosString, KerberosTime, KrbCred, KrbCredInfo, KrbError, KrbPriv, LastReq,
    LastReqValue, MethodData, PaData, PaEncTimestamp, PaEncTsEnc, PrincipalName, Realm, TgsRep, TgsReq, Ticket,
    TicketFlags, TransitedEncoding,
};

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

/// The protocol version number, 5.
pub const PVNO: i64 = 5;

/// Message types (RFC 4120 §7.5.7), equal to the APPLICATION tag numbers.
pub mod msg_type {
    /// AS-REQ.
    pub const AS_REQ: u8 = 10;
    /// AS-REP.
    pub const AS_REP: u8 = 11;
    /// TGS-REQ.
    pub const TGS_REQ: u8 = 12;
    /// TGS-REP.
    pub const TGS_REP: u8 = 13;
    /// AP-REQ.
    pub const AP_REQ: u8 = 14;
    /// AP-REP.
    pub const AP_REP: u8 = 15;
    /// KRB-SAFE.
    pub const KRB_SAFE: u8 = 20;
    /// KRB-PRIV.
    pub const KRB_PRIV: u8 = 21;
    /// KRB-CRED.
    pub const KRB_CRED: u8 = 22;
    /// EncASRepPart.
    pub const ENC_AS_REP_PART: u8 = 25;
    /// EncTGSRepPart.
    pub const ENC_TGS_REP_PART: u8 = 26;
    /// KRB-ERROR.
    pub const KRB_ERROR: u8 = 30;
}

/// Pre-authentication data types (RFC 4120 §7.5.2, RFC 6113, RFC 6806).
pub mod pa_type {
    /// PA-TGS-REQ: the AP-REQ of a TGS request.
    pub const TGS_REQ: i32 = 1;
    /// PA-ENC-TIMESTAMP.
    pub const ENC_TIMESTAMP: i32 = 2;
    /// PA-PW-SALT.
    pub const PW_SALT: i32 = 3;
    /// PA-ETYPE-INFO.
    pub const ETYPE_INFO: i32 = 11;
    /// PA-ETYPE-INFO2.
    pub const ETYPE_INFO2: i32 = 19;
    /// PA-PAC-REQUEST (MS-KILE).
    pub const PAC_REQUEST: i32 = 128;
    /// PA-FX-COOKIE (RFC 6113).
    pub const FX_COOKIE: i32 = 133;
    /// PA-FX-FAST (RFC 6113).
    pub const FX_FAST: i32 = 136;
    /// PA-FX-ERROR (RFC 6113).
    pub const FX_ERROR: i32 = 137;
    /// PA-ENCRYPTED-CHALLENGE (RFC 6113).
    pub const ENCRYPTED_CHALLENGE: i32 = 138;
    /// PA-REQ-ENC-PA-REP (RFC 6806 §11).
    pub const REQ_ENC_PA_REP: i32 = 149;
    /// PA-AS-FRESHNESS (RFC 8070).
    pub const AS_FRESHNESS: i32 = 150;
}

/// Authorization data types (RFC 4120 §7.5.4).
pub mod ad_type {
    /// AD-IF-RELEVANT: elements an application may ignore when it does not know them.
    pub const IF_RELEVANT: i32 = 1;
    /// AD-KDC-ISSUED.
    pub const KDC_ISSUED: i32 = 4;
    /// AD-AND-OR.
    pub const AND_OR: i32 = 5;
    /// AD-MANDATORY-FOR-KDC.
    pub const MANDATORY_FOR_KDC: i32 = 8;
}

/// Decodes one value of type `T` that must fill `bytes` exactly. Malformed input, a wrong tag,
/// an indefinite length or trailing bytes give `KTIX_ERR_MALFORMED` naming the type.
///
/// Like MIT's decoder, this accepts a few BER deviations that keep the meaning (a non-minimal
/// length, a redundant leading INTEGER byte), as RFC 4120 §5.1.1 allows receivers to; where
/// exact bytes matter (the TGS checksum) the bytes as received are used, never a re-encoding.
pub fn decode<T: FromDer>(bytes: &[u8]) -> Result<T> {
    T::from_der(bytes)
}

/// Encodes a value in DER.
pub fn encode<T: ToDer>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value.write_der(&mut out)?;
    Ok(out)
}

/// Decodes an EncASRepPart [APPLICATION 25] or an EncTGSRepPart \[26\] — either in either reply,
/// as MIT accepts (MIT's KDC sends 26 in AS replies). Returns the part and the tag seen.
pub fn decode_enc_kdc_rep_part(bytes: &[u8]) -> Result<(EncKdcRepPart, u8)> {
    match message_tag(bytes) {
        Some(msg_type::ENC_AS_REP_PART) => Ok((decode::<EncAsRepPart>(bytes)?.0, msg_type::ENC_AS_REP_PART)),
        Some(msg_type::ENC_TGS_REP_PART) => Ok((decode::<EncTgsRepPart>(bytes)?.0, msg_type::ENC_TGS_REP_PART)),
        _ => Err(Error::malformed("EncKDCRepPart: neither [APPLICATION 25] nor [APPLICATION 26]")),
    }
}

/// A KerberosTime (whole seconds, UTC) from a [`Time`]; the microseconds are dropped.
pub fn kerberos_time(t: Time) -> KerberosTime {
    let dt = DateTime::<Utc>::from_timestamp(t.unix().clamp(0, 253_402_300_799), 0).unwrap_or_default();
    KerberosTime(dt.with_timezone(&FixedOffset::east_opt(0).expect("UTC offset")))
}

/// The [`Time`] a KerberosTime stands for.
pub fn time_from(t: &KerberosTime) -> Time {
    Time::from_unix(t.0.timestamp())
}

/// An optional KerberosTime as an optional [`Time`].
pub fn opt_time(t: &Option<KerberosTime>) -> Option<Time> {
    t.as_ref().map(time_from)
}

/// The INTEGER of a version or message-type field.
pub fn int(n: i64) -> Integer {
    Integer::from(n)
}

/// Reads an INTEGER field that must fit `i64`.
pub fn int_value(i: &Integer, what: &str) -> Result<i64> {
    num_traits::ToPrimitive::to_i64(i).ok_or_else(|| Error::malformed(format_args!("{what}: integer out of range")))
}

/// Reads a Microseconds field (0..=999999).
pub fn micros(i: &Integer) -> Result<u32> {
    match int_value(i, "microseconds")? {
        v @ 0..=999_999 => Ok(v as u32),
        v => Err(Error::malformed(format_args!("microseconds value {v} out of range"))),
    }
}

/// Checks pvno = 5 and the msg-type of a message.
pub fn check_header(pvno: &Integer, mtype: &Integer, want: u8) -> Result<()> {
    if int_value(pvno, "pvno")? != PVNO {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_BADVERSION, "protocol version is not 5"));
    }
    if int_value(mtype, "msg-type")? != i64::from(want) {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_MSG_TYPE, format!("message type is not {want}")));
    }
    Ok(())
}

/// Whether `bytes` are all in GeneralString's alphabet: every octet but 0x80..=0xA0 (rasn's rule).
pub(crate) fn in_general_string(bytes: &[u8]) -> bool {
    !bytes.iter().any(|b| (0x80..=0xa0).contains(b))
}

/// `Ok` when a KerberosString can carry `s`: bytes outside GeneralString's alphabet (0x80–0xA0)
/// are refused.
pub(crate) fn check_kstring(s: &str) -> Result<()> {
    if in_general_string(s.as_bytes()) {
        Ok(())
    } else {
        Err(Error::invalid(format!("{s:?} cannot be carried in a KerberosString")))
    }
}

/// A KerberosString from text. Bytes outside GeneralString's alphabet (0x80–0xA0) are refused.
pub fn kstring(s: &str) -> Result<KerberosString> {
    check_kstring(s)?;
    Ok(kstring_unchecked(s.as_bytes()))
}

/// A KerberosString of any bytes (a salt), `None` for bytes outside GeneralString's alphabet.
pub fn kstring_bytes(b: &[u8]) -> Option<KerberosString> {
    in_general_string(b).then(|| kstring_unchecked(b))
}

/// Bytes already checked against GeneralString's alphabet: built with one copy, without rasn's
/// per-character check (~900 instructions for a salt).
fn kstring_unchecked(b: &[u8]) -> KerberosString {
    let mut k = GeneralString::default();
    *k = b.to_vec();
    k
}

/// The text of a KerberosString (UTF-8, else Latin-1 as MIT passes bytes through).
pub fn kstring_text(s: &KerberosString) -> String {
    bytes_text(s)
}

/// [`kstring_text`] of a KerberosString's bytes.
pub(crate) fn bytes_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(t) => t.to_owned(),
        Err(_) => latin1(b),
    }
}

/// Bytes that are not UTF-8, read as Latin-1 (MIT passes such names through).
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&b| b as char).collect()
}

/// The PrincipalName (name type and components) of a principal.
pub fn principal_name(p: &Principal) -> Result<PrincipalName> {
    Ok(PrincipalName {
        r#type: p.name_type(),
        string: p.components().iter().map(|c| kstring(c)).collect::<Result<_>>()?,
    })
}

/// A principal from a PrincipalName and a realm.
pub fn principal_from(name: &PrincipalName, realm: &Realm) -> Result<Principal> {
    Principal::new(name.r#type, name.string.iter().map(kstring_text).collect(), kstring_text(realm))
        .map_err(|e| Error::malformed(format_args!("principal name: {}", e.message())))
}

/// An OCTET STRING value.
pub fn octets(b: impl Into<Vec<u8>>) -> OctetString {
    OctetString::from(b.into())
}

/// Finds the first PA-DATA of `pa_type` in a list.
pub fn find_padata(padata: &Option<Vec<PaData>>, pa_type: i32) -> Option<&PaData> {
    padata.as_ref()?.iter().find(|p| p.r#type == pa_type)
}

/// The wire form of a [`Flags`] set (KerberosFlags, RFC 4120 §5.2.8).
pub trait FlagBits {
    /// The 32-bit wire form.
    fn to_bits(self) -> KerberosFlags;
    /// From the wire form: bits past 31 are ignored, missing bits are clear.
    fn from_bits(bits: &KerberosFlags) -> Self;
}

impl FlagBits for Flags {
    fn to_bits(self) -> KerberosFlags {
        BitString::from_vec(self.0.to_be_bytes().to_vec())
    }

    fn from_bits(bits: &KerberosFlags) -> Flags {
        // The usual case, 32 bits or more from an octet boundary: the first four octets as they
        // are, not bit by bit.
        if let Some(first) = bits.get(..32) {
            if let Some((None, body, None)) = first.domain().region() {
                if let Ok(word) = <[u8; 4]>::try_from(body) {
                    return Flags(u32::from_be_bytes(word));
                }
            }
        }
        let mut v = 0u32;
        for (i, b) in bits.iter().take(32).enumerate() {
            if *b {
                v |= 0x8000_0000 >> i;
            }
        }
        Flags(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip() {
        let t = Time::from_unix(1_700_000_000);
        assert_eq!(time_from(&kerberos_time(t)), t);
        let enc = encode(&kerberos_time(t)).unwrap();
        assert_eq!(&enc[2..], b"20231114221320Z");
    }

    #[test]
    fn flags_from_any_bit_string() {
        let whole = BitString::from_vec(vec![0xa5, 0x5a, 0xc3, 0x3c, 0xff, 0x01]);
        for start in 0..9 {
            for len in [0, 1, 31, 32, 33, 39] {
                // Aligned (start 0) and misaligned slices, shorter and longer than 32 bits.
                let bits: BitString = whole[start..start + len].to_bitvec();
                let want = (0..len.min(32)).filter(|&i| whole[start + i]).fold(0u32, |v, i| v | 0x8000_0000 >> i);
                assert_eq!(Flags::from_bits(&bits), Flags(want), "{start} {len}");
            }
        }
    }

    #[test]
    fn integers() {
        assert_eq!(int_value(&int(5), "x").unwrap(), 5);
        assert_eq!(int_value(&int(-7), "x").unwrap(), -7);
        assert!(micros(&int(1_000_000)).is_err());
    }

    #[test]
    fn kstrings_like_rasn() {
        for b in 0..=255u8 {
            for bytes in [vec![b], vec![b'a', b, b'z'], vec![]] {
                assert_eq!(kstring_bytes(&bytes), KerberosString::from_bytes(&bytes).ok(), "{bytes:02x?}");
            }
        }
        assert!(kstring("caf\u{e9}").is_ok() && kstring("\u{101}").is_err());
    }

    #[test]
    fn principal_from_reads_utf8_and_latin1() {
        let realm = kstring("M.TEST").unwrap();
        // UTF-8 and Latin-1 (0xE9 alone is not UTF-8) components.
        let latin1 = KerberosString::from_bytes(b"caf\xe9").unwrap();
        let name = PrincipalName { r#type: 3, string: vec![kstring("host").unwrap(), latin1] };
        let p = principal_from(&name, &realm).unwrap();
        assert_eq!(p.components(), ["host", "caf\u{e9}"]);
        assert_eq!(p.name_type(), 3);
        let empty = PrincipalName { r#type: 1, string: vec![] };
        assert_eq!(principal_from(&empty, &realm).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED);
    }
}
