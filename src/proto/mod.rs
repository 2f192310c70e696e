//! The pieces every exchange is built from: sealing and opening an `EncryptedData`, issuing and
//! opening a ticket, KRB-ERROR construction and reading. The KDC, the client and the acceptor
//! all use these; none of them re-implements one.

mod krb_error;
mod ticket;

pub use krb_error::{error_from_krb_error, krb_error, ErrorReply};
pub use ticket::{issue_ticket, open_ticket, TicketContents};

use zeroize::Zeroizing;

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::wire::{self, EncryptedData, EncryptionKey};

/// Encodes `value` and encrypts it in `key` for `usage` into an EncryptedData carrying `kvno`.
pub fn seal<T: rasn::Encode>(key: &Key, usage: u32, value: &T, kvno: Option<u32>) -> Result<EncryptedData> {
    let plain = Zeroizing::new(wire::encode(value)?);
    seal_bytes(key, usage, &plain, kvno)
}

/// Encrypts already-encoded bytes into an EncryptedData.
pub fn seal_bytes(key: &Key, usage: u32, plain: &[u8], kvno: Option<u32>) -> Result<EncryptedData> {
    Ok(EncryptedData { etype: key.enctype().id(), kvno, cipher: wire::octets(key.encrypt(usage, plain)?) })
}

/// Decrypts an EncryptedData with `key` for `usage` and returns the plaintext (zeroized on drop).
///
/// An EncryptedData of another enctype than the key's is `KRB_AP_ERR_BAD_INTEGRITY` (the key
/// cannot open it); tampering, a wrong key or a wrong usage too.
pub fn open_bytes(key: &Key, usage: u32, data: &EncryptedData) -> Result<Zeroizing<Vec<u8>>> {
    if data.etype != key.enctype().id() {
        return Err(Error::integrity(format!(
            "data encrypted with enctype {} cannot be opened with a {} key",
            data.etype,
            key.enctype()
        )));
    }
    key.decrypt(usage, &data.cipher)
}

/// Decrypts and decodes an EncryptedData. Plaintext that does not decode is `KRB_AP_ERR_BAD_INTEGRITY`
/// too: it passed the MAC, so only a wrong usage assignment by the peer can cause it.
pub fn open<T: rasn::Decode>(key: &Key, usage: u32, data: &EncryptedData) -> Result<T> {
    let plain = open_bytes(key, usage, data)?;
    wire::decode::<T>(&plain)
}

/// A [`Key`] from a decoded EncryptionKey; the decoded bytes are not kept.
pub fn key_from(ek: &EncryptionKey) -> Result<Key> {
    Key::new(Enctype::from_i32(ek.r#type)?, &ek.value)
        .map_err(|e| Error::new(ErrorCode::KTIX_ERR_MALFORMED, format!("session key: {}", e.message())))
}

/// The EncryptionKey of a [`Key`], to be sealed into a message.
pub fn encryption_key(key: &Key) -> EncryptionKey {
    EncryptionKey { r#type: key.enctype().id(), value: wire::octets(key.bytes().to_vec()) }
}
