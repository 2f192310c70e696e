//! Channel bindings (RFC 2743 §1.1.6, RFC 2744 §3.11) and their hash in the 0x8003
//! authenticator checksum (RFC 4121 §4.1.1.2).

use openssl::hash::{hash, MessageDigest};

use crate::error::Result;

/// `GSS_C_AF_UNSPEC` (RFC 2744 §3.11): the address type of bindings that carry no address.
pub const AF_UNSPEC: u32 = 0;
/// `GSS_C_AF_INET` (RFC 2744 §3.11).
pub const AF_INET: u32 = 2;
/// `GSS_C_AF_INET6` (MIT's value, 24).
pub const AF_INET6: u32 = 24;
/// `GSS_C_AF_NULLADDR` (RFC 2744 §3.11).
pub const AF_NULLADDR: u32 = 255;

/// The channel bindings of a context (`gss_channel_bindings_struct`): the addresses of both ends
/// and application data (for TLS channel binding, `tls-server-end-point:` + hash, RFC 5929).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// The initiator's address type (`GSS_C_AF_*`).
    pub initiator_addrtype: u32,
    /// The initiator's address.
    pub initiator_address: Vec<u8>,
    /// The acceptor's address type (`GSS_C_AF_*`).
    pub acceptor_addrtype: u32,
    /// The acceptor's address.
    pub acceptor_address: Vec<u8>,
    /// Application data (what most programs bind: the TLS channel).
    pub application_data: Vec<u8>,
}

impl ChannelBindings {
    /// Bindings carrying only application data, with `GSS_C_AF_UNSPEC` and empty addresses (what
    /// python-gssapi's `ChannelBindings(application_data=…)` and most programs send).
    pub fn application(data: &[u8]) -> ChannelBindings {
        ChannelBindings {
            initiator_addrtype: AF_UNSPEC,
            initiator_address: Vec::new(),
            acceptor_addrtype: AF_UNSPEC,
            acceptor_address: Vec::new(),
            application_data: data.to_vec(),
        }
    }

    /// The RFC 4121 §4.1.1.2 hash: MD5 of the address types as 4-byte little-endian integers and
    /// each value preceded by its length (4 bytes, little-endian), in the order initiator,
    /// acceptor, application data.
    pub fn hash(&self) -> Result<[u8; 16]> {
        let mut buf = Vec::with_capacity(
            20 + self.initiator_address.len() + self.acceptor_address.len() + self.application_data.len(),
        );
        buf.extend_from_slice(&self.initiator_addrtype.to_le_bytes());
        push_value(&mut buf, &self.initiator_address);
        buf.extend_from_slice(&self.acceptor_addrtype.to_le_bytes());
        push_value(&mut buf, &self.acceptor_address);
        push_value(&mut buf, &self.application_data);
        let d = hash(MessageDigest::md5(), &buf)?;
        let mut h = [0u8; 16];
        h.copy_from_slice(&d);
        Ok(h)
    }
}

fn push_value(buf: &mut Vec<u8>, v: &[u8]) {
    buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
    buf.extend_from_slice(v);
}

/// The hash an initiator puts in its checksum: that of its bindings, or 16 zero bytes without.
pub(crate) fn hash_of(bindings: Option<&ChannelBindings>) -> Result<[u8; 16]> {
    match bindings {
        Some(b) => b.hash(),
        None => Ok([0u8; 16]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_every_field_in_little_endian() {
        let b = ChannelBindings::application(b"tls-server-end-point:abc");
        let mut expect = Vec::new();
        expect.extend_from_slice(&[0; 4]); // initiator addrtype
        expect.extend_from_slice(&[0; 4]); // its length
        expect.extend_from_slice(&[0; 4]); // acceptor addrtype
        expect.extend_from_slice(&[0; 4]); // its length
        expect.extend_from_slice(&24u32.to_le_bytes());
        expect.extend_from_slice(b"tls-server-end-point:abc");
        let md5 = hash(MessageDigest::md5(), &expect).unwrap();
        assert_eq!(&b.hash().unwrap()[..], &md5[..]);
        let addressed =
            ChannelBindings { initiator_addrtype: AF_INET, initiator_address: vec![127, 0, 0, 1], ..b.clone() };
        assert_ne!(addressed.hash().unwrap(), b.hash().unwrap());
        assert_eq!(hash_of(None).unwrap(), [0u8; 16]);
    }
}
