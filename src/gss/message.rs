//! The per-message tokens of RFC 4121 §4.2: MIC (`04 04`) and Wrap (`05 04`), with and without
//! confidentiality, and the sequence numbers that order them.
//!
//! Token header (16 bytes): token id (2), flags (1: SentByAcceptor 0x01, Sealed 0x02,
//! AcceptorSubkey 0x04), then for MIC five filler bytes 0xFF, for Wrap one filler byte 0xFF,
//! EC (2) and RRC (2); then SND_SEQ (8, big-endian). A MIC token is the header and the checksum
//! over `data || header`. A sealed Wrap token is the header and the encryption of
//! `data || EC filler bytes || header (RRC 0)`; an integrity-only Wrap token is the header,
//! `data` and the checksum over `data || header (EC and RRC 0)`, EC then giving the checksum's
//! length. The part after the header may be rotated right by RRC bytes; ktix sends RRC 0 and
//! accepts any RRC.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::flags::ContextFlags;
use super::sequence::SeqState;
use super::token::{defective, TOK_MIC, TOK_WRAP};
use crate::crypto::{cts, usage, Key};
use crate::error::{Error, ErrorCode, Result};

/// Token flag: the token was sent by the context acceptor.
const SENT_BY_ACCEPTOR: u8 = 0x01;
/// Token flag: a Wrap token whose data is encrypted.
const SEALED: u8 = 0x02;
/// Token flag: the key is the acceptor's subkey from the AP-REP.
const ACCEPTOR_SUBKEY: u8 = 0x04;
/// The filler byte of the header.
const FILLER: u8 = 0xFF;
/// The length of a MIC or Wrap token header.
const HEADER: usize = 16;

/// What unwrapping a Wrap token recovered (`SecurityContext::unwrap_detailed`).
#[derive(Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The data the peer wrapped.
    pub data: Vec<u8>,
    /// Whether the token was encrypted (confidentiality), not only integrity-protected.
    pub conf: bool,
    /// The token verified, but the sequence check flags it: `KTIX_ERR_GSS_DUPLICATE_TOKEN`,
    /// `_OLD_TOKEN`, `_UNSEQ_TOKEN` or `_GAP_TOKEN` (the GSS supplementary status). `None` when
    /// it is in order, or the context asked for no replay or sequence detection.
    pub sequence: Option<ErrorCode>,
}

impl std::fmt::Debug for Unwrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unwrapped")
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("conf", &self.conf)
            .field("sequence", &self.sequence)
            .finish()
    }
}

/// The per-message protection of an established (or PROT_READY) krb5 context: the key, who we
/// are, the send counter and the receive sequence state. The methods take `&self`; the counters
/// are atomic or locked, so a context can be shared between threads.
pub(crate) struct MessageProtection {
    key: Key,
    acceptor_subkey: bool,
    initiator: bool,
    send_seq: AtomicU64,
    recv: Mutex<SeqState>,
}

fn bad_mic(what: &str) -> Error {
    Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MIC, what.to_string())
}

impl MessageProtection {
    /// The protection of a context with `key` (the acceptor's subkey when the AP-REP carried one
    /// — then `acceptor_subkey` is true —, else the initiator's subkey, else the ticket session
    /// key). `send_seq` is our initial sequence number, `recv_seq` the peer's; `flags` REPLAY and
    /// SEQUENCE select the receive checks.
    pub(crate) fn new(
        key: Key,
        acceptor_subkey: bool,
        initiator: bool,
        send_seq: u64,
        recv_seq: u64,
        flags: ContextFlags,
    ) -> MessageProtection {
        MessageProtection {
            key,
            acceptor_subkey,
            initiator,
            send_seq: AtomicU64::new(send_seq),
            recv: Mutex::new(SeqState::new(
                recv_seq,
                flags.contains(ContextFlags::REPLAY),
                flags.contains(ContextFlags::SEQUENCE),
            )),
        }
    }

    /// The flags byte of the tokens we send.
    fn our_flags(&self) -> u8 {
        let mut f = 0;
        if !self.initiator {
            f |= SENT_BY_ACCEPTOR;
        }
        if self.acceptor_subkey {
            f |= ACCEPTOR_SUBKEY;
        }
        f
    }

    fn usages(&self, ours: bool) -> (u32, u32) {
        // (seal, sign) of the sender: us when `ours`, else the peer.
        if self.initiator == ours {
            (usage::GSS_INITIATOR_SEAL, usage::GSS_INITIATOR_SIGN)
        } else {
            (usage::GSS_ACCEPTOR_SEAL, usage::GSS_ACCEPTOR_SIGN)
        }
    }

    fn next_seq(&self) -> u64 {
        self.send_seq.fetch_add(1, Ordering::Relaxed)
    }

    fn mac_len(&self) -> usize {
        self.key.enctype().mac_len()
    }

    /// Checks the parts of a received header that must be what the peer sends: the token id,
    /// the direction, the AcceptorSubkey flag and the filler. Returns the flags byte.
    fn check_header(&self, token: &[u8], tok_id: [u8; 2], filler: usize) -> Result<u8> {
        if token.len() < HEADER {
            return Err(defective(format!("a per-message token of {} bytes", token.len())));
        }
        if token[..2] != tok_id {
            return Err(defective(format!(
                "token id {:02x} {:02x}, not {:02x} {:02x}",
                token[0], token[1], tok_id[0], tok_id[1]
            )));
        }
        let flags = token[2];
        if (flags & SENT_BY_ACCEPTOR != 0) != self.initiator {
            return Err(defective("a token sent in our own direction (reflected?)"));
        }
        if (flags & ACCEPTOR_SUBKEY != 0) != self.acceptor_subkey {
            return Err(defective("the token's AcceptorSubkey flag does not match the context"));
        }
        if token[3..3 + filler].iter().any(|&b| b != FILLER) {
            return Err(defective("bad filler in the token header"));
        }
        Ok(flags)
    }

    fn sequence_check(&self, header: &[u8]) -> Option<ErrorCode> {
        let seq = u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"));
        self.recv.lock().check(seq)
    }

    /// A MIC token over `data` (RFC 4121 §4.2.6.1).
    pub(crate) fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut header = [FILLER; HEADER];
        header[..2].copy_from_slice(&TOK_MIC);
        header[2] = self.our_flags();
        header[8..].copy_from_slice(&self.next_seq().to_be_bytes());
        let mut signed = Vec::with_capacity(data.len() + HEADER);
        signed.extend_from_slice(data);
        signed.extend_from_slice(&header);
        let cksum = self.key.checksum(self.usages(true).1, &signed)?;
        let mut token = Vec::with_capacity(HEADER + cksum.len());
        token.extend_from_slice(&header);
        token.extend_from_slice(&cksum);
        Ok(token)
    }

    /// Verifies a peer's MIC token over `data`. `Ok(Some(code))`: it verified, but the sequence
    /// check flags it (duplicate, old, out of sequence, gap).
    pub(crate) fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<Option<ErrorCode>> {
        self.check_header(mic, TOK_MIC, 5)?;
        if mic.len() != HEADER + self.mac_len() {
            return Err(defective(format!("a MIC token of {} bytes (want {})", mic.len(), HEADER + self.mac_len())));
        }
        let (header, cksum) = mic.split_at(HEADER);
        let mut signed = Vec::with_capacity(data.len() + HEADER);
        signed.extend_from_slice(data);
        signed.extend_from_slice(header);
        self.key
            .verify_checksum(self.usages(false).1, self.key.enctype().checksum_type(), &signed, cksum)
            .map_err(|_| bad_mic("the MIC token's checksum does not verify"))?;
        Ok(self.sequence_check(header))
    }

    /// A Wrap token of `data` (RFC 4121 §4.2.6.2): encrypted when `conf`, else with a checksum.
    /// RRC is 0; EC is 0 when sealed (AES-CTS needs no padding), the checksum length otherwise.
    pub(crate) fn wrap(&self, data: &[u8], conf: bool) -> Result<Vec<u8>> {
        let (seal, _) = self.usages(true);
        let mut header = [0u8; HEADER];
        header[..2].copy_from_slice(&TOK_WRAP);
        header[2] = self.our_flags() | if conf { SEALED } else { 0 };
        header[3] = FILLER;
        header[8..].copy_from_slice(&self.next_seq().to_be_bytes());
        let mut token;
        if conf {
            let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(data.len() + HEADER));
            plain.extend_from_slice(data);
            plain.extend_from_slice(&header);
            let sealed = self.key.encrypt(seal, &plain)?;
            token = Vec::with_capacity(HEADER + sealed.len());
            token.extend_from_slice(&header);
            token.extend_from_slice(&sealed);
        } else {
            // The checksum covers data || header with EC and RRC zero (as `header` is now).
            token = Vec::with_capacity(HEADER + data.len() + HEADER.max(self.mac_len()));
            token.extend_from_slice(&header);
            token.extend_from_slice(data);
            token.extend_from_slice(&header);
            let cksum = self.key.checksum(seal, &token[HEADER..])?;
            token.truncate(HEADER + data.len());
            token.extend_from_slice(&cksum);
            token[4..6].copy_from_slice(&(cksum.len() as u16).to_be_bytes());
        }
        Ok(token)
    }

    /// Opens a peer's Wrap token: the data, whether it was sealed, and the sequence check's
    /// finding. Any RRC is accepted. Malformed, reflected or mismatched tokens are
    /// `KTIX_ERR_GSS_DEFECTIVE_TOKEN`; a checksum or decryption failure, or an encrypted header
    /// that differs from the outer one, `KTIX_ERR_GSS_BAD_MIC`.
    pub(crate) fn unwrap(&self, token: &[u8]) -> Result<Unwrapped> {
        let flags = self.check_header(token, TOK_WRAP, 1)?;
        let (seal, _) = self.usages(false);
        let (header, rotated) = token.split_at(HEADER);
        let ec = u16::from_be_bytes([header[4], header[5]]) as usize;
        let rrc = u16::from_be_bytes([header[6], header[7]]) as usize;
        let mut body = rotated.to_vec();
        if !body.is_empty() {
            let shift = rrc % body.len();
            body.rotate_left(shift);
        }
        let sealed = flags & SEALED != 0;
        let data = if sealed {
            if body.len() < cts::BLOCK + ec + HEADER + self.mac_len() {
                return Err(defective(format!("a sealed Wrap token of {} bytes with EC {ec}", token.len())));
            }
            let mut plain =
                self.key.decrypt(seal, &body).map_err(|_| bad_mic("the Wrap token does not decrypt and verify"))?;
            let n = plain.len().checked_sub(ec + HEADER).ok_or_else(|| defective("sealed Wrap token too short"))?;
            let inner = &plain[n + ec..];
            // The encrypted copy must equal the outer header, RRC taken as 0 on both sides.
            if inner[..6] != header[..6] || inner[8..] != header[8..] {
                return Err(bad_mic("the Wrap token's encrypted header differs from its header"));
            }
            plain.truncate(n);
            std::mem::take(&mut *plain)
        } else {
            if ec != self.mac_len() {
                return Err(defective(format!("an integrity-only Wrap token with EC {ec} (want {})", self.mac_len())));
            }
            let n = body.len().checked_sub(ec).ok_or_else(|| defective("integrity-only Wrap token too short"))?;
            let cksum = body.split_off(n);
            let mut zeroed = [0u8; HEADER];
            zeroed.copy_from_slice(header);
            zeroed[4..8].fill(0);
            body.extend_from_slice(&zeroed);
            self.key
                .verify_checksum(seal, self.key.enctype().checksum_type(), &body, &cksum)
                .map_err(|_| bad_mic("the Wrap token's checksum does not verify"))?;
            body.truncate(n);
            body
        };
        Ok(Unwrapped { data, conf: sealed, sequence: self.sequence_check(header) })
    }

    /// The largest input whose Wrap token is at most `max_output` bytes: a sealed token adds
    /// header + confounder + encrypted header + checksum (60 bytes for enctypes 17 and 18, 64 for
    /// 19, 72 for 20), an integrity-only one header + checksum.
    pub(crate) fn wrap_size_limit(&self, conf: bool, max_output: usize) -> usize {
        let overhead = if conf { HEADER + cts::BLOCK + HEADER + self.mac_len() } else { HEADER + self.mac_len() };
        max_output.saturating_sub(overhead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Enctype;

    const ALL_SEQ: ContextFlags = ContextFlags(ContextFlags::REPLAY.0 | ContextFlags::SEQUENCE.0);

    /// An initiator and an acceptor sharing a key, as after the AP exchange.
    fn pair(e: Enctype, subkey: bool, flags: ContextFlags) -> (MessageProtection, MessageProtection) {
        let key = Key::random(e).unwrap();
        let ini = MessageProtection::new(key.clone(), subkey, true, 1000, 5000, flags);
        let acc = MessageProtection::new(key, subkey, false, 5000, 1000, flags);
        (ini, acc)
    }

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn round_trips_every_enctype_both_directions() {
        for e in Enctype::ALL {
            for subkey in [false, true] {
                let (ini, acc) = pair(e, subkey, ALL_SEQ);
                for len in [0usize, 1, 15, 16, 17, 100, 1000, 70_000] {
                    let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                    for (tx, rx) in [(&ini, &acc), (&acc, &ini)] {
                        for conf in [true, false] {
                            let t = tx.wrap(&data, conf).unwrap();
                            let u = rx.unwrap(&t).unwrap();
                            assert_eq!((&u.data, u.conf, u.sequence), (&data, conf, None), "{e} {len} {conf}");
                            if !conf {
                                assert_eq!(&t[HEADER..HEADER + len], &data[..]);
                            } else if len >= 8 {
                                assert!(!t.windows(8).any(|w| w == &data[..8]), "plaintext visible");
                            }
                        }
                        let mic = tx.get_mic(&data).unwrap();
                        assert_eq!(mic.len(), HEADER + e.mac_len());
                        assert_eq!(rx.verify_mic(&data, &mic).unwrap(), None);
                    }
                }
            }
        }
    }

    #[test]
    fn header_layout_and_flags() {
        let (ini, acc) = pair(Enctype::Aes256CtsHmacSha196, true, ALL_SEQ);
        let mic = acc.get_mic(b"x").unwrap();
        assert_eq!(mic[..8], [0x04, 0x04, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(mic[8..16], 5000u64.to_be_bytes());
        let w = ini.wrap(b"x", true).unwrap();
        assert_eq!(w[..8], [0x05, 0x04, 0x06, 0xff, 0, 0, 0, 0]);
        assert_eq!(w[8..16], 1000u64.to_be_bytes());
        let w = ini.wrap(b"x", false).unwrap();
        assert_eq!(w[..8], [0x05, 0x04, 0x04, 0xff, 0, 12, 0, 0]);
        assert_eq!(w[8..16], 1001u64.to_be_bytes());
        // Our own tokens come back refused (a reflection), in both directions.
        assert_eq!(code(ini.unwrap(&w)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        assert_eq!(code(acc.verify_mic(b"x", &mic)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        // A MIC is not a Wrap token and the other way round.
        assert_eq!(code(acc.unwrap(&ini.get_mic(b"x").unwrap())), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        assert_eq!(code(acc.verify_mic(b"x", &w)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    }

    #[test]
    fn acceptor_subkey_flag_must_match() {
        let key = Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
        let ini = MessageProtection::new(key.clone(), false, true, 1, 1, ALL_SEQ);
        let acc = MessageProtection::new(key, true, false, 1, 1, ALL_SEQ);
        assert_eq!(code(acc.unwrap(&ini.wrap(b"d", true).unwrap())), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        assert_eq!(code(ini.verify_mic(b"d", &acc.get_mic(b"d").unwrap())), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    }

    /// The token with its body rotated right by `rrc` and RRC set, as Active Directory sends.
    fn rotate(token: &[u8], rrc: usize) -> Vec<u8> {
        let mut body = token[HEADER..].to_vec();
        let n = body.len();
        body.rotate_right(rrc % n);
        let mut t = token[..HEADER].to_vec();
        t[6..8].copy_from_slice(&(rrc as u16).to_be_bytes());
        t.extend_from_slice(&body);
        t
    }

    #[test]
    fn any_rrc_is_accepted() {
        for e in Enctype::ALL {
            let (ini, acc) = pair(e, true, ContextFlags::NONE);
            for conf in [true, false] {
                for rrc in [1usize, 12, 16, 28, 44, 60, 1000, 65535] {
                    let t = acc.wrap(b"rotated data", conf).unwrap();
                    let u = ini.unwrap(&rotate(&t, rrc)).unwrap();
                    assert_eq!((u.data.as_slice(), u.conf), (&b"rotated data"[..], conf), "{e} {rrc}");
                }
            }
        }
    }

    #[test]
    fn every_tampered_byte_is_refused() {
        for e in Enctype::ALL {
            let (ini, acc) = pair(e, false, ALL_SEQ);
            let data = b"attack at dawn, bring snacks";
            for conf in [true, false] {
                let t = ini.wrap(data, conf).unwrap();
                for i in 0..t.len() {
                    let mut bad = t.clone();
                    bad[i] ^= 0x01;
                    assert!(acc.unwrap(&bad).is_err(), "{e} conf {conf} byte {i}");
                }
                for cut in 0..t.len() {
                    assert!(acc.unwrap(&t[..cut]).is_err(), "{e} conf {conf} cut {cut}");
                }
                assert_eq!(acc.unwrap(&t).unwrap().data, data);
            }
            let mic = ini.get_mic(data).unwrap();
            for i in 0..mic.len() {
                let mut bad = mic.clone();
                bad[i] ^= 0x01;
                assert!(acc.verify_mic(data, &bad).is_err(), "{e} mic byte {i}");
            }
            assert_eq!(code(acc.verify_mic(b"attack at dusk, bring snacks", &mic)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
            for cut in 0..mic.len() {
                assert_eq!(code(acc.verify_mic(data, &mic[..cut])), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
            }
            let mut long = mic.clone();
            long.push(0);
            assert_eq!(code(acc.verify_mic(data, &long)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
            assert_eq!(acc.verify_mic(data, &mic).unwrap(), None);
        }
    }

    #[test]
    fn specific_codes_for_specific_damage() {
        let (ini, acc) = pair(Enctype::Aes128CtsHmacSha256128, false, ContextFlags::NONE);
        let t = ini.wrap(b"data", true).unwrap();
        let mut filler = t.clone();
        filler[3] = 0;
        assert_eq!(code(acc.unwrap(&filler)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        let mut body = t.clone();
        let last = body.len() - 1;
        body[last] ^= 0x80;
        assert_eq!(code(acc.unwrap(&body)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
        let mut seq = t.clone();
        seq[15] ^= 1; // the encrypted copy no longer matches
        assert_eq!(code(acc.unwrap(&seq)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
        let i = ini.wrap(b"data", false).unwrap();
        let mut ec = i.clone();
        ec[5] = 11;
        assert_eq!(code(acc.unwrap(&ec)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        let mut d = i.clone();
        d[HEADER] ^= 1;
        assert_eq!(code(acc.unwrap(&d)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
        // Another key: BAD_MIC, never data.
        let (_, other) = pair(Enctype::Aes128CtsHmacSha256128, false, ContextFlags::NONE);
        assert_eq!(code(other.unwrap(&t)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
        assert_eq!(code(other.unwrap(&i)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
        // A MIC one byte short.
        let mic = ini.get_mic(b"data").unwrap();
        assert_eq!(code(acc.verify_mic(b"data", &mic[..HEADER + 15])), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    }

    #[test]
    fn sequence_findings_follow_the_flags() {
        use ErrorCode as C;
        let dup = Some(C::KTIX_ERR_GSS_DUPLICATE_TOKEN);
        let gap = Some(C::KTIX_ERR_GSS_GAP_TOKEN);
        let unseq = Some(C::KTIX_ERR_GSS_UNSEQ_TOKEN);
        let old = Some(C::KTIX_ERR_GSS_OLD_TOKEN);
        for (flags, on) in [(ALL_SEQ, true), (ContextFlags::NONE, false)] {
            let expect = |c: Option<C>| if on { c } else { None };
            let (ini, acc) = pair(Enctype::Aes256CtsHmacSha384192, true, flags);
            // Wrap and MIC tokens share one counter: wraps 1000..1069, then MICs 1070..1139.
            let tokens: Vec<Vec<u8>> = (0..70).map(|i| ini.wrap(&[i as u8], i % 2 == 0).unwrap()).collect();
            let mics: Vec<Vec<u8>> = (0..70).map(|_| ini.get_mic(b"m").unwrap()).collect();
            assert_eq!(acc.unwrap(&tokens[0]).unwrap().sequence, None);
            assert_eq!(acc.unwrap(&tokens[0]).unwrap().sequence, expect(dup), "replayed");
            assert_eq!(acc.unwrap(&tokens[2]).unwrap().sequence, expect(gap), "one missing");
            assert_eq!(acc.unwrap(&tokens[1]).unwrap().sequence, expect(unseq), "reordered");
            assert_eq!(acc.verify_mic(b"m", &mics[0]).unwrap(), expect(gap));
            assert_eq!(acc.verify_mic(b"m", &mics[0]).unwrap(), expect(dup));
            assert_eq!(acc.verify_mic(b"m", &mics[1]).unwrap(), None);
            assert_eq!(acc.verify_mic(b"m", &mics[69]).unwrap(), expect(gap));
            // 1003 is now 137 behind the newest (1139): outside the 64-token window.
            let u = acc.unwrap(&tokens[3]).unwrap();
            assert_eq!((u.sequence, u.data.as_slice()), (expect(old), &[3u8][..]));
        }
    }

    #[test]
    fn wrap_size_limit_is_exact() {
        for (e, sealed_overhead) in [
            (Enctype::Aes128CtsHmacSha196, 60),
            (Enctype::Aes256CtsHmacSha196, 60),
            (Enctype::Aes128CtsHmacSha256128, 64),
            (Enctype::Aes256CtsHmacSha384192, 72),
        ] {
            let (ini, _) = pair(e, true, ContextFlags::NONE);
            for (conf, overhead) in [(true, sealed_overhead), (false, 16 + e.mac_len())] {
                assert_eq!(ini.wrap(b"", conf).unwrap().len(), overhead);
                for max in [overhead, overhead + 1, 100, 1024, 16_384, 65_536] {
                    let limit = ini.wrap_size_limit(conf, max);
                    assert_eq!(limit, max - overhead);
                    assert!(ini.wrap(&vec![0; limit], conf).unwrap().len() <= max);
                    assert!(ini.wrap(&vec![0; limit + 1], conf).unwrap().len() > max);
                }
                assert_eq!(ini.wrap_size_limit(conf, overhead - 1), 0);
                assert_eq!(ini.wrap_size_limit(conf, 0), 0);
            }
        }
    }

    /// Tokens made by MIT krb5 1.20's GSS-API library (tests/fixtures/gss/make_mit_tokens.py),
    /// one context per enctype, MIT's acceptor subkey in use: every one opens or verifies here,
    /// in sequence; the integrity-only Wrap and the MIC tokens we make with the same key and
    /// sequence numbers are byte for byte MIT's (no confounder in them), and our sealed tokens
    /// have MIT's header and length.
    #[test]
    fn mit_made_tokens_open_and_ours_equal_them() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/gss/mit-1.20-tokens.json")).unwrap();
        let contexts = fixture["contexts"].as_array().unwrap();
        assert_eq!(contexts.len(), 4);
        for c in contexts {
            let e = Enctype::from_i32(c["enctype"].as_i64().unwrap() as i32).unwrap();
            let key = Key::new(e, &hex::decode(c["key"].as_str().unwrap()).unwrap()).unwrap();
            let subkey = c["acceptor_subkey"].as_bool().unwrap();
            let (ini_seq, acc_seq) = (c["initiator_seq"].as_u64().unwrap(), c["acceptor_seq"].as_u64().unwrap());
            let side = |initiator: bool| {
                let (send, recv) = if initiator { (ini_seq, acc_seq) } else { (acc_seq, ini_seq) };
                MessageProtection::new(key.clone(), subkey, initiator, send, recv, ALL_SEQ)
            };
            let (ini, acc, our_ini, our_acc) = (side(true), side(false), side(true), side(false));
            let tokens = c["tokens"].as_array().unwrap();
            assert_eq!(tokens.len(), 6);
            for t in tokens {
                let from_initiator = t["from"] == "initiator";
                let (rx, twin) = if from_initiator { (&acc, &our_ini) } else { (&ini, &our_acc) };
                let data = hex::decode(t["data"].as_str().unwrap()).unwrap();
                let token = hex::decode(t["token"].as_str().unwrap()).unwrap();
                let what = format!("{e} {} {}", t["from"], t["kind"]);
                match t["kind"].as_str().unwrap() {
                    "wrap-sealed" => {
                        let u = rx.unwrap(&token).unwrap();
                        assert_eq!((&u.data, u.conf, u.sequence), (&data, true, None), "{what}");
                        let ours = twin.wrap(&data, true).unwrap();
                        assert_eq!((ours.len(), &ours[..HEADER]), (token.len(), &token[..HEADER]), "{what}");
                    }
                    "wrap-integ" => {
                        let u = rx.unwrap(&token).unwrap();
                        assert_eq!((&u.data, u.conf, u.sequence), (&data, false, None), "{what}");
                        assert_eq!(twin.wrap(&data, false).unwrap(), token, "{what}");
                    }
                    "mic" => {
                        assert_eq!(rx.verify_mic(&data, &token).unwrap(), None, "{what}");
                        assert_eq!(twin.get_mic(&data).unwrap(), token, "{what}");
                    }
                    k => panic!("unknown kind {k}"),
                }
            }
        }
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<MessageProtection>();
        check::<Unwrapped>();
    }
}
