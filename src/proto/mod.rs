//! The pieces every exchange is built from: sealing and opening an `EncryptedData`, issuing and
//! opening a ticket, KRB-ERROR construction and reading, the AP-REQ (built and verified in one
//! place each) and its AP-REP. The KDC, the client and the acceptor
//! all use these; none of them re-implements one.

mod ap;
mod cred;
pub mod kpasswd;
mod krb_error;
mod ticket;

pub use ap::{
    build_ap_rep, build_ap_req, decode_ap_req, open_ap_req, verify_ap_rep, verify_ap_req, ApRepContents, ApReqCheck,
    AuthChecksum, NewApReq, OpenedApReq, ReplayGuard, TicketKey, VerifiedApReq,
};
pub use cred::{build_krb_cred, open_krb_cred};
pub use krb_error::{e_text, error_from_krb_error, krb_error, krb_error_of, ErrorReply};
pub use ticket::{issue_ticket, open_ticket, SealedTicket, TicketContents};

use zeroize::Zeroizing;

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::wire::{self, EncryptedData, EncryptedDataIn, EncryptedDataOut, EncryptionKey};

/// Encodes `value` and encrypts it in `key` for `usage` into an EncryptedData carrying `kvno`.
pub fn seal<T: wire::ToDer>(key: &Key, usage: u32, value: &T, kvno: Option<u32>) -> Result<EncryptedData> {
    seal_out(key, usage, value, kvno).map(EncryptedData::from)
}

/// [`seal`] into the form the borrowed messages (`wire::TicketOut`, `wire::KdcRepOut`) carry:
/// the cipher text stays the `Vec` encryption made.
pub fn seal_out<T: wire::ToDer>(key: &Key, usage: u32, value: &T, kvno: Option<u32>) -> Result<EncryptedDataOut> {
    let plain = Zeroizing::new(wire::encode(value)?);
    encrypt(key, usage, &plain, kvno)
}

/// Encrypts already-encoded bytes into an EncryptedData.
pub fn seal_bytes(key: &Key, usage: u32, plain: &[u8], kvno: Option<u32>) -> Result<EncryptedData> {
    encrypt(key, usage, plain, kvno).map(EncryptedData::from)
}

fn encrypt(key: &Key, usage: u32, plain: &[u8], kvno: Option<u32>) -> Result<EncryptedDataOut> {
    Ok(EncryptedDataOut { etype: key.enctype().id(), kvno, cipher: key.encrypt(usage, plain)? })
}

/// Decrypts an EncryptedData with `key` for `usage` and returns the plaintext (zeroized on drop).
///
/// An EncryptedData of another enctype than the key's is `KRB_AP_ERR_BAD_INTEGRITY` (the key
/// cannot open it); tampering, a wrong key or a wrong usage too.
pub fn open_bytes<'d>(key: &Key, usage: u32, data: impl Into<EncryptedDataIn<'d>>) -> Result<Zeroizing<Vec<u8>>> {
    let data = data.into();
    if data.etype != key.enctype().id() {
        return Err(Error::integrity(format!(
            "data encrypted with enctype {} cannot be opened with a {} key",
            data.etype,
            key.enctype()
        )));
    }
    key.decrypt(usage, data.cipher)
}

/// Decrypts and decodes an EncryptedData. Failing to decrypt is `KRB_AP_ERR_BAD_INTEGRITY` (see
/// [`open_bytes`]); plaintext that passed the integrity check but does not decode as `T` is
/// `KTIX_ERR_MALFORMED`, as for any message that does not decode.
pub fn open<'d, T: wire::FromDer>(key: &Key, usage: u32, data: impl Into<EncryptedDataIn<'d>>) -> Result<T> {
    let plain = open_bytes(key, usage, data)?;
    wire::decode::<T>(&plain)
}

/// A [`Key`] from a decoded EncryptionKey; the decoded bytes are not kept.
pub fn key_from(ek: &EncryptionKey) -> Result<Key> {
    key_from_bytes(wire::KeyBytes { etype: ek.r#type, value: &ek.value })
}

/// [`key_from`] for an EncryptionKey borrowed from a plaintext.
pub fn key_from_bytes(ek: wire::KeyBytes<'_>) -> Result<Key> {
    Key::new(Enctype::from_i32(ek.etype)?, ek.value)
        .map_err(|e| Error::new(ErrorCode::KTIX_ERR_MALFORMED, format!("session key: {}", e.message())))
}

/// [`key_from`], then [`wipe_key`]: the key moves out of a decoded message part into a [`Key`]
/// (whose bytes are zeroized on drop), and the message part keeps no copy. The EncryptionKey is
/// wiped even when it does not make a key.
pub fn take_key(ek: &mut EncryptionKey) -> Result<Key> {
    let key = key_from(ek);
    wipe_key(ek);
    key
}

/// Zeroizes the bytes of an EncryptionKey we decoded or built and are done with (the key in an
/// EncTicketPart, EncKDCRepPart, Authenticator or EncAPRepPart), leaving the value empty. Decoded
/// and built values hold the only handle on their buffer, which is then wiped in place; a value
/// whose buffer is shared elsewhere loses only this copy.
pub fn wipe_key(ek: &mut EncryptionKey) {
    drop(Zeroizing::new(into_vec(std::mem::take(&mut ek.value))));
}

/// The bytes of an OCTET STRING as a `Vec`: a buffer no other handle shares becomes the `Vec`
/// itself, without a copy, so zeroizing the `Vec` wipes the original bytes.
fn into_vec(o: wire::OctetString) -> Vec<u8> {
    let held: bytes::Bytes = o.into();
    Vec::from(held)
}

/// The protocol version of the borrowed message forms (`wire::PVNO`, as their `i32` fields hold it).
pub(crate) const PVNO: i32 = wire::PVNO as i32;

/// The EncryptionKey of a [`Key`], borrowed, to be written into a message's (zeroizing)
/// plaintext without a copy of the key to wipe.
pub fn key_bytes(key: &Key) -> wire::KeyBytes<'_> {
    wire::KeyBytes { etype: key.enctype().id(), value: key.bytes() }
}

/// The EncryptionKey of a [`Key`], to be sealed into a message.
pub fn encryption_key(key: &Key) -> EncryptionKey {
    EncryptionKey { r#type: key.enctype().id(), value: wire::octets(key.bytes().to_vec()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiping_a_key_reaches_its_original_buffer() {
        let key = Key::random(Enctype::Aes256CtsHmacSha196).unwrap();
        // Built (as when sealing) and decoded (as when opening) values: no copy on the way to
        // the zeroizing Vec, so the wipe hits the very bytes the message part held.
        let built = encryption_key(&key);
        let decoded: EncryptionKey = wire::decode(&wire::encode(&built).unwrap()).unwrap();
        for ek in [built, decoded] {
            let at = ek.value.as_ptr();
            let v = into_vec(ek.value);
            assert_eq!(&v[..], key.bytes());
            assert_eq!(v.as_ptr(), at, "the bytes were copied, not taken");
        }
        let mut ek = encryption_key(&key);
        assert_eq!(take_key(&mut ek).unwrap(), key);
        assert!(ek.value.is_empty());
        // Wiped even when it is not a usable key.
        let mut bad = EncryptionKey { r#type: 18, value: wire::octets(vec![1u8; 5]) };
        assert!(take_key(&mut bad).is_err());
        assert!(bad.value.is_empty());
    }
}
