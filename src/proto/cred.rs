//! KRB-CRED (RFC 4120 §5.8): tickets with their session keys, sent from one party to another —
//! the delegated (forwarded) TGT of GSS-API's delegation. Built here and opened here, for every
//! caller.

use crate::ccache::Credential;
use crate::crypto::{usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::wire::{
    self, msg_type, EncKrbCredPart, EncryptedData, FlagBits, Flags, HostAddress, KrbCred, KrbCredInfo, Ticket,
    TicketFlags,
};

use super::{encryption_key, open_bytes, seal, take_key, wipe_key};

/// The most tickets a KRB-CRED we open may carry.
const MAX_TICKETS: usize = 16;

/// Builds a KRB-CRED carrying `creds`, its enc-part sealed in `key` for key usage 14 (MIT's GSS
/// initiator seals it in the authenticator subkey). Like MIT's GSS delegation, it carries no
/// timestamp, nonce or addresses.
pub fn build_krb_cred(creds: &[Credential], key: &Key) -> Result<Vec<u8>> {
    let mut tickets = Vec::with_capacity(creds.len());
    let mut infos = Vec::with_capacity(creds.len());
    for c in creds {
        tickets.push(wire::decode::<Ticket>(&c.ticket).map_err(|e| e.context("cached ticket"))?);
        infos.push(KrbCredInfo {
            key: encryption_key(&c.key),
            prealm: Some(wire::kstring(c.client.realm())?),
            pname: Some(wire::principal_name(&c.client)?),
            flags: Some(TicketFlags(c.flags.to_bits())),
            auth_time: Some(wire::kerberos_time(c.auth_time)),
            start_time: c.start_time.map(wire::kerberos_time),
            end_time: Some(wire::kerberos_time(c.end_time)),
            renew_till: c.renew_till.map(wire::kerberos_time),
            srealm: Some(wire::kstring(c.server.realm())?),
            sname: Some(wire::principal_name(&c.server)?),
            caddr: if c.addresses.is_empty() {
                None
            } else {
                Some(
                    c.addresses
                        .iter()
                        .map(|(t, a)| HostAddress { addr_type: *t, address: wire::octets(a.clone()) })
                        .collect(),
                )
            },
        });
    }
    let mut part = EncKrbCredPart {
        ticket_info: infos,
        nonce: None,
        timestamp: None,
        usec: None,
        sender_address: None,
        recipient_address: None,
    };
    let enc_part = seal(key, usage::KRB_CRED_ENC_PART, &part, None);
    for info in &mut part.ticket_info {
        wipe_key(&mut info.key);
    }
    let cred = KrbCred {
        pvno: wire::int(wire::PVNO),
        msg_type: wire::int(msg_type::KRB_CRED.into()),
        tickets,
        enc_part: enc_part?,
    };
    wire::encode(&cred)
}

/// Opens a KRB-CRED: its enc-part with the first of `keys` that opens it (usage 14), or — as
/// MIT and Heimdal may send it — unencrypted (etype 0, the EncKrbCredPart in the clear). Returns
/// the credentials, one per ticket; a ticket-info without a client name takes `default_client`.
///
/// Errors: `KTIX_ERR_MALFORMED` (not a KRB-CRED, ticket and info counts that differ, too many
/// tickets), `KRB_AP_ERR_BAD_INTEGRITY` (no key opens it).
pub fn open_krb_cred(bytes: &[u8], keys: &[&Key], default_client: &Principal) -> Result<Vec<Credential>> {
    let cred = wire::decode::<KrbCred>(bytes)?;
    wire::check_header(&cred.pvno, &cred.msg_type, msg_type::KRB_CRED)?;
    let plain = open_part(&cred.enc_part, keys)?;
    let mut part = wire::decode::<EncKrbCredPart>(&plain)?;
    if part.ticket_info.len() != cred.tickets.len() || cred.tickets.len() > MAX_TICKETS {
        for info in &mut part.ticket_info {
            wipe_key(&mut info.key);
        }
        return Err(Error::malformed(format_args!(
            "KRB-CRED with {} tickets and {} ticket infos",
            cred.tickets.len(),
            part.ticket_info.len()
        )));
    }
    let mut out = Vec::with_capacity(cred.tickets.len());
    for (ticket, info) in cred.tickets.iter().zip(part.ticket_info.iter_mut()) {
        let key = take_key(&mut info.key)?;
        let client = match (&info.pname, &info.prealm) {
            (Some(n), Some(r)) => wire::principal_from(n, r)?,
            _ => default_client.clone(),
        };
        let server = match &info.sname {
            Some(n) => wire::principal_from(n, info.srealm.as_ref().unwrap_or(&ticket.realm))?,
            None => wire::principal_from(&ticket.sname, &ticket.realm)?,
        };
        let end_time = info
            .end_time
            .as_ref()
            .map(wire::time_from)
            .ok_or_else(|| Error::malformed("KRB-CRED ticket info without an end time"))?;
        let auth_time = info.auth_time.as_ref().or(info.start_time.as_ref()).map(wire::time_from).unwrap_or(end_time);
        out.push(Credential {
            client,
            server,
            key,
            auth_time,
            start_time: wire::opt_time(&info.start_time),
            end_time,
            renew_till: wire::opt_time(&info.renew_till),
            flags: info.flags.as_ref().map_or(Flags::NONE, |f| Flags::from_bits(&f.0)),
            is_skey: false,
            addresses: info.caddr.iter().flatten().map(|a| (a.addr_type, a.address.to_vec())).collect(),
            authdata: Vec::new(),
            ticket: wire::encode(ticket)?,
            second_ticket: Vec::new(),
        });
    }
    Ok(out)
}

/// The plaintext of a KRB-CRED's enc-part.
fn open_part(enc: &EncryptedData, keys: &[&Key]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if enc.etype == 0 {
        return Ok(zeroize::Zeroizing::new(enc.cipher.to_vec()));
    }
    let mut last = None;
    for key in keys {
        match open_bytes(key, usage::KRB_CRED_ENC_PART, enc) {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "no key to open the KRB-CRED")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Enctype;
    use crate::time::Time;

    fn tgt() -> Credential {
        let client = Principal::parse("alice@R.TEST", None).unwrap();
        let server = Principal::krbtgt("R.TEST");
        let ticket = Ticket {
            tkt_vno: wire::int(5),
            realm: wire::kstring("R.TEST").unwrap(),
            sname: wire::principal_name(&server).unwrap(),
            enc_part: EncryptedData { etype: 18, kvno: Some(1), cipher: wire::octets(vec![9u8; 40]) },
        };
        Credential {
            client,
            server,
            key: Key::random(Enctype::Aes256CtsHmacSha384192).unwrap(),
            auth_time: Time::from_unix(1_790_000_000),
            start_time: Some(Time::from_unix(1_790_000_100)),
            end_time: Time::from_unix(1_790_036_000),
            renew_till: None,
            flags: Flags::NONE.with(wire::ticket_flags::FORWARDED).with(wire::ticket_flags::FORWARDABLE),
            is_skey: false,
            addresses: vec![],
            authdata: vec![],
            ticket: wire::encode(&ticket).unwrap(),
            second_ticket: vec![],
        }
    }

    #[test]
    fn built_and_opened_with_the_subkey_or_the_session_key() {
        let c = tgt();
        let subkey = Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
        let session = Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
        let bytes = build_krb_cred(std::slice::from_ref(&c), &subkey).unwrap();
        assert_eq!(wire::message_tag(&bytes), Some(msg_type::KRB_CRED));
        let nobody = Principal::parse("x@R.TEST", None).unwrap();
        let got = open_krb_cred(&bytes, &[&session, &subkey], &nobody).unwrap();
        assert_eq!(got.len(), 1);
        let g = &got[0];
        assert_eq!((&g.client, &g.server, &g.key), (&c.client, &c.server, &c.key));
        assert_eq!((g.auth_time, g.start_time, g.end_time, g.flags), (c.auth_time, c.start_time, c.end_time, c.flags));
        assert_eq!(g.ticket, c.ticket);
        let err = open_krb_cred(&bytes, &[&session], &nobody).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
        assert_eq!(open_krb_cred(&bytes[..20], &[&subkey], &nobody).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED);
    }

    #[test]
    fn an_unencrypted_enc_part_is_accepted() {
        let c = tgt();
        let key = Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
        let mut cred = wire::decode::<KrbCred>(&build_krb_cred(std::slice::from_ref(&c), &key).unwrap()).unwrap();
        let plain = open_bytes(&key, usage::KRB_CRED_ENC_PART, &cred.enc_part).unwrap();
        cred.enc_part = EncryptedData { etype: 0, kvno: None, cipher: wire::octets(plain.to_vec()) };
        let got = open_krb_cred(&wire::encode(&cred).unwrap(), &[], &c.client).unwrap();
        assert_eq!(got[0].key, c.key);
        // Counts that differ.
        cred.tickets.push(cred.tickets[0].clone());
        let err = open_krb_cred(&wire::encode(&cred).unwrap(), &[], &c.client).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KTIX_ERR_MALFORMED);
    }

    #[test]
    fn truncated_and_flipped_krb_creds_fail_cleanly() {
        let c = tgt();
        let key = Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
        let bytes = build_krb_cred(std::slice::from_ref(&c), &key).unwrap();
        for cut in 0..bytes.len() {
            assert!(open_krb_cred(&bytes[..cut], &[&key], &c.client).is_err(), "cut {cut}");
        }
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x10;
            // Flips in the tickets' unencrypted header may still open; none may panic.
            let _ = open_krb_cred(&t, &[&key], &c.client);
        }
    }
}
