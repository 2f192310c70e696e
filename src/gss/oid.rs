//! Object identifiers of the mechanisms and name types, as DER content bytes (what RFC 2744's
//! `gss_OID_desc.elements` holds). OIDs are compared by value, never by address.

use crate::error::{Error, ErrorCode, Result};

/// The Kerberos V5 mechanism, 1.2.840.113554.1.2.2 (RFC 1964).
pub const KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Microsoft's variant of the Kerberos V5 mechanism OID, 1.2.840.48018.1.2.2 (what Windows lists
/// in SPNEGO).
pub const KRB5_MS: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// The pre-RFC Kerberos V5 mechanism OID, 1.3.5.1.5.2 (MIT still recognizes it).
pub const KRB5_OLD: &[u8] = &[0x2b, 0x05, 0x01, 0x05, 0x02];
/// SPNEGO, 1.3.6.1.5.5.2 (RFC 4178).
pub const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

/// `GSS_C_NT_USER_NAME`, 1.2.840.113554.1.2.1.1.
pub const NT_USER_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x01];
/// `GSS_C_NT_MACHINE_UID_NAME`, 1.2.840.113554.1.2.1.2.
pub const NT_MACHINE_UID_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x02];
/// `GSS_C_NT_STRING_UID_NAME`, 1.2.840.113554.1.2.1.3.
pub const NT_STRING_UID_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x03];
/// `GSS_C_NT_HOSTBASED_SERVICE`, 1.2.840.113554.1.2.1.4 (`service@host`).
pub const NT_HOSTBASED_SERVICE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// `GSS_C_NT_HOSTBASED_SERVICE_X`, 1.3.6.1.5.6.2 (the older OID of the same name type).
pub const NT_HOSTBASED_SERVICE_X: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x06, 0x02];
/// `GSS_C_NT_ANONYMOUS`, 1.3.6.1.5.6.3.
pub const NT_ANONYMOUS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x06, 0x03];
/// `GSS_C_NT_EXPORT_NAME`, 1.3.6.1.5.6.4 (RFC 2743 §3.2).
pub const NT_EXPORT_NAME: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x06, 0x04];
/// `GSS_KRB5_NT_PRINCIPAL_NAME`, 1.2.840.113554.1.2.2.1 (`name/instance@REALM`).
pub const KRB5_NT_PRINCIPAL_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];

/// Whether `oid` names the Kerberos V5 mechanism (any of its three OIDs).
pub fn is_krb5(oid: &[u8]) -> bool {
    oid == KRB5 || oid == KRB5_MS || oid == KRB5_OLD
}

/// The dotted form of an OID's content bytes (`"1.2.840.113554.1.2.2"`); `KTIX_ERR_MALFORMED`
/// for bytes that are not a valid encoding.
pub fn to_dotted(oid: &[u8]) -> Result<String> {
    let bad = || Error::new(ErrorCode::KTIX_ERR_MALFORMED, "malformed object identifier");
    if oid.is_empty() || oid.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(bad());
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut first_byte = true;
    for &b in oid {
        if first_byte && b == 0x80 {
            return Err(bad()); // a non-minimal encoding
        }
        value = value.checked_mul(128).ok_or_else(bad)? | u64::from(b & 0x7f);
        first_byte = b & 0x80 == 0;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (x, y) = if value < 40 {
                    (0, value)
                } else if value < 80 {
                    (1, value - 40)
                } else {
                    (2, value - 80)
                };
                arcs.extend([x, y]);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    Ok(arcs.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// The content bytes of a dotted OID (`"1.3.6.1.5.5.2"`); `KTIX_ERR_INVALID_ARGUMENT` when it
/// is not one.
pub fn from_dotted(dotted: &str) -> Result<Vec<u8>> {
    let bad = || Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("not an object identifier: {dotted:?}"));
    let arcs: Vec<u64> =
        dotted.trim().split('.').map(|a| a.parse::<u64>().map_err(|_| bad())).collect::<Result<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
        return Err(bad());
    }
    let first = (arcs[0] * 40).checked_add(arcs[1]).ok_or_else(bad)?;
    let mut out = Vec::new();
    for arc in std::iter::once(first).chain(arcs[2..].iter().copied()) {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        out.extend(chunk.iter().rev());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_forms_round_trip() {
        for (oid, dotted) in [
            (KRB5, "1.2.840.113554.1.2.2"),
            (KRB5_MS, "1.2.840.48018.1.2.2"),
            (KRB5_OLD, "1.3.5.1.5.2"),
            (SPNEGO, "1.3.6.1.5.5.2"),
            (NT_USER_NAME, "1.2.840.113554.1.2.1.1"),
            (NT_HOSTBASED_SERVICE, "1.2.840.113554.1.2.1.4"),
            (NT_HOSTBASED_SERVICE_X, "1.3.6.1.5.6.2"),
            (NT_EXPORT_NAME, "1.3.6.1.5.6.4"),
            (KRB5_NT_PRINCIPAL_NAME, "1.2.840.113554.1.2.2.1"),
        ] {
            assert_eq!(to_dotted(oid).expect("valid"), dotted);
            assert_eq!(from_dotted(dotted).expect("valid"), oid);
        }
        assert!(is_krb5(KRB5_MS) && !is_krb5(SPNEGO));
    }

    #[test]
    fn bad_encodings_are_errors() {
        assert!(to_dotted(&[]).is_err());
        assert!(to_dotted(&[0x2a, 0x86]).is_err()); // ends inside an arc
        assert!(to_dotted(&[0x2a, 0x80, 0x01]).is_err()); // non-minimal
        assert!(to_dotted(&[0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        for s in ["", "1", "3.1", "1.40", "1.2.x", "1..2"] {
            assert!(from_dotted(s).is_err(), "{s:?}");
        }
    }
}
