//! The authenticator checksum of the Kerberos V5 mechanism, type 0x8003 (RFC 4121 §4.1.1): not a
//! keyed checksum but a structure the AP-REQ's sealed authenticator protects.
//!
//! ```text
//! Lgth    4 bytes, little-endian: 16
//! Bnd     16 bytes: the channel-binding hash (bindings.rs), zeros without bindings
//! Flags   4 bytes, little-endian: DELEG 1, MUTUAL 2, REPLAY 4, SEQUENCE 8, CONF 16, INTEG 32
//! DlgOpt  2 bytes, little-endian: 1          } only with DELEG
//! Dlgth   2 bytes, little-endian             }
//! Deleg   Dlgth bytes: a KRB-CRED            }
//! Exts    the rest (RFC 4121 extensions; MIT ignores them, and so do we)
//! ```

use crate::error::{Error, ErrorCode, Result};

use super::ContextFlags;

/// The Lgth field's only value: an MD5 hash is 16 bytes.
const BND_LENGTH: u32 = 16;
/// The DlgOpt value of a delegation (`KRB5_GSS_FOR_CREDS_OPTION`).
const DLG_OPT: u16 = 1;
/// The flags we send in the checksum (RFC 4121 §4.1.1.1, the GSS flag bits of RFC 2744). MIT's
/// initiator sends TRANS (0x100) too; what an acceptor grants of the received flags is its call.
const WIRE_FLAGS: u32 = 0x3f;

/// A decoded (or to-be-encoded) 0x8003 checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GssChecksum {
    /// The channel-binding hash.
    pub bindings_hash: [u8; 16],
    /// The context flags the initiator sent (all 32 bits as received).
    pub flags: ContextFlags,
    /// The KRB-CRED of a delegation (DER), when DELEG is set and one is carried.
    pub delegation: Option<Vec<u8>>,
}

impl GssChecksum {
    /// The checksum's bytes. DELEG is sent only with a delegation.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let flags = self.flags.0 & WIRE_FLAGS & !ContextFlags::DELEG.0
            | if self.delegation.is_some() { ContextFlags::DELEG.0 } else { 0 };
        let mut out = Vec::with_capacity(28 + self.delegation.as_ref().map_or(0, |d| d.len()));
        out.extend_from_slice(&BND_LENGTH.to_le_bytes());
        out.extend_from_slice(&self.bindings_hash);
        out.extend_from_slice(&flags.to_le_bytes());
        if let Some(d) = &self.delegation {
            let len = u16::try_from(d.len()).map_err(|_| {
                Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, "the delegated credentials exceed 65535 bytes")
            })?;
            out.extend_from_slice(&DLG_OPT.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(d);
        }
        Ok(out)
    }

    /// Parses a checksum as MIT's acceptor does: at least 24 bytes and Lgth 16, else
    /// `KTIX_ERR_GSS_DEFECTIVE_TOKEN`; with DELEG and at least 28 bytes, DlgOpt 1 and a Dlgth
    /// that fits; bytes after the delegation (extensions) are ignored. A DELEG flag without a
    /// delegation, or with another DlgOpt, leaves `delegation` empty (MIT then clears DELEG).
    pub fn parse(bytes: &[u8]) -> Result<GssChecksum> {
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN, format!("GSS checksum: {why}"));
        if bytes.len() < 24 {
            return Err(bad("shorter than 24 bytes"));
        }
        let lgth = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
        if lgth != BND_LENGTH {
            return Err(bad(&format!("binding length {lgth}, not 16")));
        }
        let mut bindings_hash = [0u8; 16];
        bindings_hash.copy_from_slice(&bytes[4..20]);
        let raw_flags = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
        let mut flags = ContextFlags(raw_flags);
        let mut delegation = None;
        if flags.contains(ContextFlags::DELEG) && bytes.len() >= 28 {
            let opt = u16::from_le_bytes([bytes[24], bytes[25]]);
            let len = usize::from(u16::from_le_bytes([bytes[26], bytes[27]]));
            if opt == DLG_OPT {
                let d = bytes.get(28..28 + len).ok_or_else(|| bad("the delegation is longer than the checksum"))?;
                delegation = Some(d.to_vec());
            }
        }
        if delegation.is_none() {
            flags = flags.without(ContextFlags::DELEG);
        }
        Ok(GssChecksum { bindings_hash, flags, delegation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<GssChecksum>) -> ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn round_trip_with_and_without_delegation() {
        let c = GssChecksum {
            bindings_hash: [7; 16],
            flags: ContextFlags::MUTUAL.with(ContextFlags::CONF).with(ContextFlags::INTEG),
            delegation: None,
        };
        let b = c.encode().unwrap();
        assert_eq!(b.len(), 24);
        assert_eq!(&b[..4], &[16, 0, 0, 0]);
        assert_eq!(&b[20..], &[0x32, 0, 0, 0]);
        assert_eq!(GssChecksum::parse(&b).unwrap(), c);

        let d = GssChecksum { delegation: Some(vec![0x76, 1, 2]), ..c.clone() };
        let b = d.encode().unwrap();
        assert_eq!(&b[20..], &[0x33, 0, 0, 0, 1, 0, 3, 0, 0x76, 1, 2]);
        let got = GssChecksum::parse(&b).unwrap();
        assert!(got.flags.contains(ContextFlags::DELEG));
        assert_eq!(got, GssChecksum { flags: c.flags.with(ContextFlags::DELEG), ..d.clone() });
        // Extensions after the delegation are tolerated.
        let mut ext = b.clone();
        ext.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(GssChecksum::parse(&ext).unwrap(), got);
        // DELEG asked with nothing to send: the flag does not go out.
        let asked = GssChecksum { flags: c.flags.with(ContextFlags::DELEG), ..c.clone() };
        assert_eq!(GssChecksum::parse(&asked.encode().unwrap()).unwrap(), c);
    }

    /// MIT 1.20's GSS AP-REQ (python-gssapi, default flags): its checksum parses to the flags
    /// MIT put in it, MUTUAL|CONF|INTEG|TRANS, without bindings or delegation.
    #[test]
    fn mit_captured_checksum() {
        use crate::crypto::{usage, Key};
        use crate::wire::{self, Authenticator};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mit-1.20");
        let bytes = std::fs::read(dir.join("aes256-cts-hmac-sha1-96/03-ap-req-gss.der")).unwrap();
        let req = wire::decode_ap_req(&bytes).unwrap();
        let kt = crate::keytab::Keytab::load(dir.join("server.keytab").to_str().unwrap()).unwrap();
        let key: &Key = kt
            .entries()
            .iter()
            .find(|e| Some(e.kvno) == req.ticket.enc_part.kvno && e.key.enctype_id() == req.ticket.enc_part.etype)
            .and_then(|e| e.key.key())
            .unwrap();
        let tc = crate::proto::open_ticket(&req.ticket, key).unwrap();
        let auth: Authenticator = crate::proto::open(&tc.session_key, usage::AP_REQ_AUTH, req.authenticator).unwrap();
        let c = GssChecksum::parse(&auth.cksum.unwrap().checksum).unwrap();
        assert_eq!(c.flags, ContextFlags(0x132));
        assert_eq!(c.bindings_hash, [0u8; 16]);
        assert_eq!(c.delegation, None);
    }

    #[test]
    fn strict_on_the_fixed_part() {
        let ok = GssChecksum { bindings_hash: [0; 16], flags: ContextFlags::INTEG, delegation: None }.encode().unwrap();
        assert_eq!(code(GssChecksum::parse(&ok[..23])), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        assert_eq!(code(GssChecksum::parse(&[])), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        let mut wrong = ok.clone();
        wrong[0] = 20;
        assert_eq!(code(GssChecksum::parse(&wrong)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        // A delegation longer than what is there.
        let mut short = ok.clone();
        short[20] |= 1;
        short.extend_from_slice(&[1, 0, 200, 0, 1, 2]);
        assert_eq!(code(GssChecksum::parse(&short)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        // DELEG without the option bytes: no delegation, DELEG cleared.
        let mut flag_only = ok.clone();
        flag_only[20] |= 1;
        let got = GssChecksum::parse(&flag_only).unwrap();
        assert!(!got.flags.contains(ContextFlags::DELEG) && got.delegation.is_none());
        // Other flag bits are kept as sent (MIT sends TRANS, 0x100).
        let mut high = ok;
        high[21] = 0x01;
        assert_eq!(GssChecksum::parse(&high).unwrap().flags, ContextFlags::INTEG.with(ContextFlags::TRANS));
    }

    #[test]
    fn every_truncation_and_bit_flip_parses_or_fails_cleanly() {
        let c = GssChecksum {
            bindings_hash: [3; 16],
            flags: ContextFlags::MUTUAL.with(ContextFlags::DELEG),
            delegation: Some((0..40).collect()),
        };
        let b = c.encode().unwrap();
        for cut in 0..b.len() {
            if let Ok(p) = GssChecksum::parse(&b[..cut]) {
                assert!(cut >= 24);
                assert!(p.delegation.is_none(), "cut {cut}: a short delegation is not taken");
            }
        }
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut t = b.clone();
                t[i] ^= 1 << bit;
                let _ = GssChecksum::parse(&t);
            }
        }
    }
}
