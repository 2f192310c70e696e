//! Hand-written DER encoding ([`ToDer`]) of the RFC 4120 messages (issue 17: rasn's generic
//! encoder cost ~13,000 instructions per message); KRB-CRED and its parts still go through rasn.
//!
//! Every value is written into the one output buffer. A primitive's length is known before it is
//! written, so its header goes out directly; a constructed value gets a one-byte length slot
//! that is patched when it closes, and its contents are shifted along once when they turn out
//! to be 128 bytes or more (the long form). The output equals rasn's DER for every value (the
//! tests below and the fixture tests compare the two).

use chrono::{Datelike, Timelike};
use rasn::types::{BitString, GeneralString, Integer, IntegerType};

use super::codec::to_der_via_rasn;
use super::*;

to_der_via_rasn!(EncKrbCredPart, KrbCred, KrbCredInfo);

/// Infallible encoding of one value (its whole TLV), so nested values need no `?`.
trait Enc {
    fn enc(&self, out: &mut Vec<u8>);
}

/// [`ToDer`] for the hand-written types: nothing they hold can fail to encode.
macro_rules! to_der_via_enc {
    ($($t:ty),* $(,)?) => {$(
        impl ToDer for $t {
            fn write_der(&self, out: &mut Vec<u8>) -> Result<()> {
                self.enc(out);
                Ok(())
            }
        }
    )*};
}

to_der_via_enc!(
    ApRep,
    ApReq,
    AsRep,
    AsReq,
    Authenticator,
    AuthorizationDataValue,
    Checksum,
    EncApRepPart,
    EncAsRepPart,
    EncKdcRepPart,
    EncKrbPrivPart,
    EncTgsRepPart,
    EncTicketPart,
    EncryptedData,
    EncryptionKey,
    EtypeInfo2Entry,
    HostAddress,
    KdcRep,
    KdcReq,
    KdcReqBody,
    KrbError,
    KrbPriv,
    LastReqValue,
    PaData,
    PaEncTsEnc,
    PrincipalName,
    TgsRep,
    TgsReq,
    Ticket,
    TransitedEncoding,
    KerberosTime,
);

/// A SEQUENCE OF (HostAddresses, AuthorizationData, MethodData, LastReq, ETYPE-INFO2, …).
impl<T: Enc> ToDer for Vec<T> {
    fn write_der(&self, out: &mut Vec<u8>) -> Result<()> {
        self.enc(out);
        Ok(())
    }
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const GENERAL_STRING: u8 = 0x1b;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;

/// The identifier of an explicit context tag `[n]` (constructed).
const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// The identifier of an explicit `[APPLICATION n]` (constructed).
const fn app(n: u8) -> u8 {
    0x60 | n
}

/// The number of length octets DER uses for `len`.
#[inline]
fn len_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// The size of a whole TLV (one-byte tag) whose contents are `len` bytes.
#[inline]
fn tlv_len(len: usize) -> usize {
    1 + len_len(len) + len
}

/// Starts a constructed value: its tag and a one-byte length slot. Returns where the contents
/// start, for [`close`].
#[inline]
fn open(out: &mut Vec<u8>, tag: u8) -> usize {
    out.extend_from_slice(&[tag, 0]);
    out.len()
}

/// Completes the value [`open`] started at `start`: its contents run to the end of `out`.
#[inline]
fn close(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    let n = len_len(len) - 1;
    out[start - 1] = 0x80 | n as u8;
    out.resize(out.len() + n, 0);
    out.copy_within(start..start + len, start + n);
    out[start..start + n].copy_from_slice(&len.to_be_bytes()[size_of::<usize>() - n..]);
}

/// A primitive TLV.
#[inline]
fn prim(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// `[n]` around a primitive TLV.
#[inline]
fn prim_field(out: &mut Vec<u8>, n: u8, tag: u8, content: &[u8]) {
    out.push(ctx(n));
    push_len(out, tlv_len(content.len()));
    prim(out, tag, content);
}

/// The minimal two's-complement octets of `v`: the array and the index of the first one used.
#[inline]
fn int_octets(v: i64) -> ([u8; 8], usize) {
    let b = v.to_be_bytes();
    let mut i = 0;
    // A leading octet is redundant when it only repeats the sign of the next one.
    while i < 7 && ((b[i] == 0 && b[i + 1] & 0x80 == 0) || (b[i] == 0xff && b[i + 1] & 0x80 != 0)) {
        i += 1;
    }
    (b, i)
}

/// `[n] INTEGER` for the fixed-width fields (Int32, UInt32).
#[inline]
fn int_field(out: &mut Vec<u8>, n: u8, v: i64) {
    let (b, i) = int_octets(v);
    let len = 8 - i;
    out.extend_from_slice(&[ctx(n), (len + 2) as u8, INTEGER, len as u8]);
    out.extend_from_slice(&b[i..]);
}

/// The size of `[n] INTEGER` for a fixed-width field.
#[inline]
fn int_field_len(v: i64) -> usize {
    4 + 8 - int_octets(v).1
}

/// `[n] INTEGER` for an unbounded INTEGER (pvno, msg-type, Microseconds), rasn's own octets.
#[inline]
fn integer_field(out: &mut Vec<u8>, n: u8, v: &Integer) {
    let (b, len) = v.to_signed_bytes_be();
    prim_field(out, n, INTEGER, &b.as_ref()[..len]);
}

/// `[n] OCTET STRING`.
#[inline]
fn octets_field(out: &mut Vec<u8>, n: u8, v: &[u8]) {
    prim_field(out, n, OCTET_STRING, v);
}

/// `[n] GeneralString` (Realm, KerberosString).
#[inline]
fn string_field(out: &mut Vec<u8>, n: u8, v: &GeneralString) {
    prim_field(out, n, GENERAL_STRING, v.as_bytes());
}

/// `[n]` around a value of a hand-written type.
#[inline]
fn field<T: Enc + ?Sized>(out: &mut Vec<u8>, n: u8, v: &T) {
    let at = open(out, ctx(n));
    v.enc(out);
    close(out, at);
}

/// `[n] BIT STRING` (KerberosFlags): the unused-bit count, then the bits padded with zeros.
fn flags_field(out: &mut Vec<u8>, n: u8, v: &BitString) {
    let octets = v.len().div_ceil(8);
    let unused = (octets * 8 - v.len()) as u8;
    out.push(ctx(n));
    push_len(out, tlv_len(octets + 1));
    out.push(BIT_STRING);
    push_len(out, octets + 1);
    out.push(unused);
    // Whole octets that start on an octet boundary (the usual 32-bit flags) are copied as they
    // are; anything else bit by bit.
    if let Some((None, body, None)) = v.domain().region() {
        out.extend_from_slice(body);
    } else {
        let start = out.len();
        out.resize(start + octets, 0);
        for (i, bit) in v.iter().by_vals().enumerate() {
            if bit {
                out[start + i / 8] |= 0x80 >> (i % 8);
            }
        }
    }
}

/// Appends `v` in decimal, zero-padded to at least `width` digits, to `buf` at `*n`.
fn put_decimal(buf: &mut [u8], n: &mut usize, mut v: u32, width: usize) {
    let digits = v.checked_ilog10().map_or(1, |d| d as usize + 1).max(width);
    for slot in buf[*n..*n + digits].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    *n += digits;
}

impl Enc for KerberosTime {
    /// GeneralizedTime in X.690's canonical form, as rasn writes it: UTC, `YYYYMMDDHHMMSS`, a
    /// fraction only when not zero and without trailing zeros, `Z`; a leap second is second 60;
    /// a year outside 0..=9999 is written with a sign and as many digits as it needs.
    fn enc(&self, out: &mut Vec<u8>) {
        let t = self.0.naive_utc();
        // Sign, six year digits, ten more digits, '.', nine fraction digits, 'Z'.
        let mut buf = [0u8; 28];
        let mut n = 0;
        let year = t.year();
        if (0..=9999).contains(&year) {
            put_decimal(&mut buf, &mut n, year as u32, 4);
        } else {
            buf[0] = if year < 0 { b'-' } else { b'+' };
            n = 1;
            put_decimal(&mut buf, &mut n, year.unsigned_abs(), 4);
        }
        let (mut second, mut nanos) = (t.second(), t.nanosecond());
        if nanos >= 1_000_000_000 {
            second += 1;
            nanos -= 1_000_000_000;
        }
        for v in [t.month(), t.day(), t.hour(), t.minute(), second] {
            put_decimal(&mut buf, &mut n, v, 2);
        }
        if nanos > 0 {
            buf[n] = b'.';
            n += 1;
            let mut digits = 9;
            while nanos % 10 == 0 {
                nanos /= 10;
                digits -= 1;
            }
            put_decimal(&mut buf, &mut n, nanos, digits);
        }
        buf[n] = b'Z';
        prim(out, GENERALIZED_TIME, &buf[..n + 1]);
    }
}

/// `[n] KerberosTime`.
#[inline]
fn time_field(out: &mut Vec<u8>, n: u8, v: &KerberosTime) {
    field(out, n, v);
}

impl<T: Enc> Enc for Vec<T> {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, SEQUENCE);
        for v in self {
            v.enc(out);
        }
        close(out, at);
    }
}

impl Enc for PrincipalName {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        int_field(out, 0, self.r#type.into());
        let f = open(out, ctx(1));
        let names = open(out, SEQUENCE);
        for s in &self.string {
            prim(out, GENERAL_STRING, s.as_bytes());
        }
        close(out, names);
        close(out, f);
        close(out, seq);
    }
}

/// The SEQUENCE `{ [a] INTEGER, [b] OCTET STRING }` of the small typed-data types, its header
/// written from the known length (the octets may be long: a PA-DATA's AP-REQ).
fn int_and_octets(out: &mut Vec<u8>, a: u8, int: i64, b: u8, octets: &[u8]) {
    out.push(SEQUENCE);
    push_len(out, int_field_len(int) + tlv_len(tlv_len(octets.len())));
    int_field(out, a, int);
    octets_field(out, b, octets);
}

impl Enc for EncryptionKey {
    fn enc(&self, out: &mut Vec<u8>) {
        int_and_octets(out, 0, self.r#type.into(), 1, &self.value);
    }
}

impl Enc for Checksum {
    fn enc(&self, out: &mut Vec<u8>) {
        int_and_octets(out, 0, self.r#type.into(), 1, &self.checksum);
    }
}

impl Enc for TransitedEncoding {
    fn enc(&self, out: &mut Vec<u8>) {
        int_and_octets(out, 0, self.r#type.into(), 1, &self.contents);
    }
}

impl Enc for HostAddress {
    fn enc(&self, out: &mut Vec<u8>) {
        int_and_octets(out, 0, self.addr_type.into(), 1, &self.address);
    }
}

impl Enc for AuthorizationDataValue {
    fn enc(&self, out: &mut Vec<u8>) {
        int_and_octets(out, 0, self.r#type.into(), 1, &self.data);
    }
}

impl Enc for PaData {
    fn enc(&self, out: &mut Vec<u8>) {
        int_and_octets(out, 1, self.r#type.into(), 2, &self.value);
    }
}

impl Enc for EncryptedData {
    /// Written from the known length: the cipher text is usually the bulk of a message.
    fn enc(&self, out: &mut Vec<u8>) {
        let etype = i64::from(self.etype);
        let kvno = self.kvno.map(i64::from);
        out.push(SEQUENCE);
        push_len(out, int_field_len(etype) + kvno.map_or(0, int_field_len) + tlv_len(tlv_len(self.cipher.len())));
        int_field(out, 0, etype);
        if let Some(k) = kvno {
            int_field(out, 1, k);
        }
        octets_field(out, 2, &self.cipher);
    }
}

impl Enc for LastReqValue {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        int_field(out, 0, self.r#type.into());
        time_field(out, 1, &self.value);
        close(out, seq);
    }
}

impl Enc for EtypeInfo2Entry {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        int_field(out, 0, self.etype.into());
        if let Some(s) = &self.salt {
            string_field(out, 1, s);
        }
        if let Some(p) = &self.s2kparams {
            octets_field(out, 2, p);
        }
        close(out, seq);
    }
}

impl Enc for Ticket {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(1));
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.tkt_vno);
        string_field(out, 1, &self.realm);
        field(out, 2, &self.sname);
        field(out, 3, &self.enc_part);
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for EncTicketPart {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(3));
        let seq = open(out, SEQUENCE);
        flags_field(out, 0, &self.flags.0);
        field(out, 1, &self.key);
        string_field(out, 2, &self.crealm);
        field(out, 3, &self.cname);
        field(out, 4, &self.transited);
        time_field(out, 5, &self.auth_time);
        if let Some(t) = &self.start_time {
            time_field(out, 6, t);
        }
        time_field(out, 7, &self.end_time);
        if let Some(t) = &self.renew_till {
            time_field(out, 8, t);
        }
        if let Some(a) = &self.caddr {
            field(out, 9, a);
        }
        if let Some(a) = &self.authorization_data {
            field(out, 10, a);
        }
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for KdcReqBody {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        flags_field(out, 0, &self.kdc_options.0);
        if let Some(n) = &self.cname {
            field(out, 1, n);
        }
        string_field(out, 2, &self.realm);
        if let Some(n) = &self.sname {
            field(out, 3, n);
        }
        if let Some(t) = &self.from {
            time_field(out, 4, t);
        }
        time_field(out, 5, &self.till);
        if let Some(t) = &self.rtime {
            time_field(out, 6, t);
        }
        int_field(out, 7, self.nonce.into());
        let f = open(out, ctx(8));
        let etypes = open(out, SEQUENCE);
        for &e in &self.etype {
            let (b, i) = int_octets(e.into());
            prim(out, INTEGER, &b[i..]);
        }
        close(out, etypes);
        close(out, f);
        if let Some(a) = &self.addresses {
            field(out, 9, a);
        }
        if let Some(e) = &self.enc_authorization_data {
            field(out, 10, e);
        }
        if let Some(t) = &self.additional_tickets {
            field(out, 11, t);
        }
        close(out, seq);
    }
}

impl Enc for KdcReq {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        integer_field(out, 1, &self.pvno);
        integer_field(out, 2, &self.msg_type);
        if let Some(p) = &self.padata {
            field(out, 3, p);
        }
        field(out, 4, &self.req_body);
        close(out, seq);
    }
}

impl Enc for AsReq {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, app(10));
        self.0.enc(out);
        close(out, at);
    }
}

impl Enc for TgsReq {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, app(12));
        self.0.enc(out);
        close(out, at);
    }
}

impl Enc for KdcRep {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.pvno);
        integer_field(out, 1, &self.msg_type);
        if let Some(p) = &self.padata {
            field(out, 2, p);
        }
        string_field(out, 3, &self.crealm);
        field(out, 4, &self.cname);
        field(out, 5, &self.ticket);
        field(out, 6, &self.enc_part);
        close(out, seq);
    }
}

impl Enc for AsRep {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, app(11));
        self.0.enc(out);
        close(out, at);
    }
}

impl Enc for TgsRep {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, app(13));
        self.0.enc(out);
        close(out, at);
    }
}

impl Enc for EncKdcRepPart {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        field(out, 0, &self.key);
        field(out, 1, &self.last_req);
        int_field(out, 2, self.nonce.into());
        if let Some(t) = &self.key_expiration {
            time_field(out, 3, t);
        }
        flags_field(out, 4, &self.flags.0);
        time_field(out, 5, &self.auth_time);
        if let Some(t) = &self.start_time {
            time_field(out, 6, t);
        }
        time_field(out, 7, &self.end_time);
        if let Some(t) = &self.renew_till {
            time_field(out, 8, t);
        }
        string_field(out, 9, &self.srealm);
        field(out, 10, &self.sname);
        if let Some(a) = &self.caddr {
            field(out, 11, a);
        }
        if let Some(p) = &self.encrypted_pa_data {
            field(out, 12, p);
        }
        close(out, seq);
    }
}

impl Enc for EncAsRepPart {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, app(25));
        self.0.enc(out);
        close(out, at);
    }
}

impl Enc for EncTgsRepPart {
    fn enc(&self, out: &mut Vec<u8>) {
        let at = open(out, app(26));
        self.0.enc(out);
        close(out, at);
    }
}

impl Enc for ApReq {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(14));
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.pvno);
        integer_field(out, 1, &self.msg_type);
        flags_field(out, 2, &self.ap_options.0);
        field(out, 3, &self.ticket);
        field(out, 4, &self.authenticator);
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for Authenticator {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(2));
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.authenticator_vno);
        string_field(out, 1, &self.crealm);
        field(out, 2, &self.cname);
        if let Some(c) = &self.cksum {
            field(out, 3, c);
        }
        integer_field(out, 4, &self.cusec);
        time_field(out, 5, &self.ctime);
        if let Some(k) = &self.subkey {
            field(out, 6, k);
        }
        if let Some(s) = self.seq_number {
            int_field(out, 7, s.into());
        }
        if let Some(a) = &self.authorization_data {
            field(out, 8, a);
        }
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for ApRep {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(15));
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.pvno);
        integer_field(out, 1, &self.msg_type);
        field(out, 2, &self.enc_part);
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for EncApRepPart {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(27));
        let seq = open(out, SEQUENCE);
        time_field(out, 0, &self.ctime);
        integer_field(out, 1, &self.cusec);
        if let Some(k) = &self.subkey {
            field(out, 2, k);
        }
        if let Some(s) = self.seq_number {
            int_field(out, 3, s.into());
        }
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for KrbError {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(30));
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.pvno);
        integer_field(out, 1, &self.msg_type);
        if let Some(t) = &self.ctime {
            time_field(out, 2, t);
        }
        if let Some(u) = &self.cusec {
            integer_field(out, 3, u);
        }
        time_field(out, 4, &self.stime);
        integer_field(out, 5, &self.susec);
        int_field(out, 6, self.error_code.into());
        if let Some(r) = &self.crealm {
            string_field(out, 7, r);
        }
        if let Some(n) = &self.cname {
            field(out, 8, n);
        }
        string_field(out, 9, &self.realm);
        field(out, 10, &self.sname);
        if let Some(t) = &self.e_text {
            string_field(out, 11, t);
        }
        if let Some(d) = &self.e_data {
            octets_field(out, 12, d);
        }
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for PaEncTsEnc {
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        time_field(out, 0, &self.patimestamp);
        if let Some(u) = &self.pausec {
            integer_field(out, 1, u);
        }
        close(out, seq);
    }
}

impl Enc for KrbPriv {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(21));
        let seq = open(out, SEQUENCE);
        integer_field(out, 0, &self.pvno);
        integer_field(out, 1, &self.msg_type);
        field(out, 3, &self.enc_part);
        close(out, seq);
        close(out, outer);
    }
}

impl Enc for EncKrbPrivPart {
    fn enc(&self, out: &mut Vec<u8>) {
        let outer = open(out, app(28));
        let seq = open(out, SEQUENCE);
        octets_field(out, 0, &self.user_data);
        if let Some(t) = &self.timestamp {
            time_field(out, 1, t);
        }
        if let Some(u) = &self.usec {
            integer_field(out, 2, u);
        }
        if let Some(s) = self.seq_number {
            int_field(out, 3, s.into());
        }
        field(out, 4, &self.sender_address);
        if let Some(a) = &self.recipient_address {
            field(out, 5, a);
        }
        close(out, seq);
        close(out, outer);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

    use super::*;

    /// Our encoding equals rasn's, alone and appended after other bytes.
    fn same<T: ToDer + rasn::Encode + std::fmt::Debug>(v: &T) {
        let theirs = rasn::der::encode(v).unwrap();
        let ours = encode(v).unwrap();
        if ours != theirs {
            panic!("{v:?}:\n ours {ours:02x?}\n rasn {theirs:02x?}");
        }
        let mut out = vec![0xee; 3];
        v.write_der(&mut out).unwrap();
        assert_eq!((&out[..3], &out[3..]), (&[0xee; 3][..], &theirs[..]));
    }

    /// A small deterministic generator (xorshift64*), so failures repeat.
    struct Gen(u64);

    const I32_EDGES: [i32; 18] = [
        0,
        -1,
        1,
        127,
        128,
        -128,
        -129,
        255,
        256,
        32767,
        32768,
        -32768,
        -32769,
        0x7f_ffff,
        0x80_0000,
        -0x80_0001,
        i32::MIN,
        i32::MAX,
    ];
    const U32_EDGES: [u32; 11] = [0, 1, 127, 128, 255, 256, 65535, 65536, 0x7fff_ffff, 0x8000_0000, u32::MAX];
    const LEN_EDGES: [usize; 12] = [0, 1, 126, 127, 128, 129, 255, 256, 65535, 65536, 65537, 300];

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn coin(&mut self) -> bool {
            self.next() & 1 == 1
        }
        fn i32(&mut self) -> i32 {
            if self.coin() {
                I32_EDGES[self.below(I32_EDGES.len())]
            } else {
                self.next() as i32 >> self.below(32)
            }
        }
        fn u32(&mut self) -> u32 {
            if self.coin() {
                U32_EDGES[self.below(U32_EDGES.len())]
            } else {
                self.next() as u32 >> self.below(32)
            }
        }
        /// Unbounded INTEGERs: small, fixed-width edges, and beyond 64 bits.
        fn integer(&mut self) -> Integer {
            match self.below(6) {
                0 => Integer::from(5),
                1 => Integer::from(i64::from(self.i32())),
                2 => Integer::from(i64::from(self.u32())),
                3 => Integer::from([i64::MIN, i64::MAX, -1, 0, 999_999][self.below(5)]),
                4 => Integer::from((self.next() as i64) >> self.below(64)),
                _ => Integer::from(
                    [i128::MAX, i128::MIN, 1 << 64, -(1 << 64), (1 << 64) - 1, u64::MAX as i128 + 1][self.below(6)],
                ),
            }
        }
        /// A length, mostly short, sometimes one either side of a length-form boundary.
        fn len(&mut self) -> usize {
            if self.below(8) == 0 {
                LEN_EDGES[self.below(LEN_EDGES.len())]
            } else {
                self.below(40)
            }
        }
        fn bytes(&mut self) -> Vec<u8> {
            (0..self.len()).map(|_| self.next() as u8).collect()
        }
        fn octets(&mut self) -> OctetString {
            self.bytes().into()
        }
        /// GeneralString bytes: ASCII and Latin-1 (0xA1..=0xFF), never 0x80..=0xA0.
        fn string(&mut self) -> GeneralString {
            let n = if self.below(10) == 0 { self.len() } else { self.below(12) };
            let b: Vec<u8> = (0..n)
                .map(|_| {
                    let c = self.next() as u8;
                    if (0x80..=0xa0).contains(&c) {
                        c + 0x40
                    } else {
                        c
                    }
                })
                .collect();
            GeneralString::from_bytes(&b).unwrap()
        }
        fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
            self.coin().then(|| f(self))
        }
        /// 0 to 3 elements, sometimes many.
        fn seq<T>(&mut self, mut f: impl FnMut(&mut Self) -> T) -> Vec<T> {
            let n = if self.below(8) == 0 { self.below(40) } else { self.below(4) };
            (0..n).map(|_| f(self)).collect()
        }
        fn time(&mut self) -> KerberosTime {
            let utc = FixedOffset::east_opt(0).unwrap();
            let dt = match self.below(8) {
                0 => utc.timestamp_opt(0, 0).unwrap(),
                1 => utc.timestamp_opt(253_402_300_799, 0).unwrap(),
                // A leap second, fractions, offsets, years outside 0..=9999.
                2 => {
                    let d = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap();
                    let nanos = [1_000_000_000, 1_500_000_000, 1_000_000_001][self.below(3)];
                    utc.from_utc_datetime(&d.and_time(NaiveTime::from_hms_nano_opt(23, 59, 59, nanos).unwrap()))
                }
                3 => {
                    let nanos = [1, 10, 100_000, 123_456_789, 999_999_999, 500_000_000][self.below(6)];
                    utc.timestamp_opt((self.next() % 4_000_000_000) as i64, nanos).unwrap()
                }
                4 => {
                    let off = FixedOffset::east_opt(self.below(2 * 86_399) as i32 - 86_399).unwrap();
                    off.timestamp_opt((self.next() % 253_402_300_799) as i64, 0).unwrap()
                }
                5 => {
                    let y = [-1, -5000, 10_000, 262_000, -262_000, 0][self.below(6)];
                    let d = NaiveDate::from_ymd_opt(y, 1 + self.below(12) as u32, 1 + self.below(28) as u32).unwrap();
                    utc.from_utc_datetime(&NaiveDateTime::new(d, NaiveTime::from_hms_opt(1, 2, 3).unwrap()))
                }
                _ => utc.timestamp_opt((self.next() % 253_402_300_800) as i64, 0).unwrap(),
            };
            KerberosTime(dt)
        }
        fn time_in_range(&mut self) -> KerberosTime {
            let t = self.time();
            DateTime::<chrono::Utc>::from_timestamp(t.0.timestamp(), 0).map_or(t, |d| KerberosTime(d.fixed_offset()))
        }
        /// KerberosFlags: 32 bits mostly, any length otherwise (including ones that end mid-octet).
        fn flags(&mut self) -> BitString {
            let n = if self.coin() { 32 } else { [0, 1, 7, 8, 9, 31, 33, 64, 65, 200][self.below(10)] };
            let mut bits = BitString::from_vec(self.next().to_be_bytes().repeat(4));
            bits.truncate(n);
            bits
        }
        fn name(&mut self) -> PrincipalName {
            PrincipalName { r#type: self.i32(), string: self.seq(Self::string) }
        }
        fn key(&mut self) -> EncryptionKey {
            EncryptionKey { r#type: self.i32(), value: self.octets() }
        }
        fn enc_data(&mut self) -> EncryptedData {
            EncryptedData { etype: self.i32(), kvno: self.opt(Self::u32), cipher: self.octets() }
        }
        fn addresses(&mut self) -> HostAddresses {
            self.seq(|g| HostAddress { addr_type: g.i32(), address: g.octets() })
        }
        fn authz(&mut self) -> AuthorizationData {
            self.seq(|g| AuthorizationDataValue { r#type: g.i32(), data: g.octets() })
        }
        fn padata(&mut self) -> Vec<PaData> {
            self.seq(|g| PaData { r#type: g.i32(), value: g.octets() })
        }
        fn ticket(&mut self) -> Ticket {
            Ticket { tkt_vno: self.integer(), realm: self.string(), sname: self.name(), enc_part: self.enc_data() }
        }
        fn enc_ticket_part(&mut self) -> EncTicketPart {
            EncTicketPart {
                flags: TicketFlags(self.flags()),
                key: self.key(),
                crealm: self.string(),
                cname: self.name(),
                transited: TransitedEncoding { r#type: self.i32(), contents: self.octets() },
                auth_time: self.time(),
                start_time: self.opt(Self::time),
                end_time: self.time(),
                renew_till: self.opt(Self::time),
                caddr: self.opt(Self::addresses),
                authorization_data: self.opt(Self::authz),
            }
        }
        fn kdc_req(&mut self) -> KdcReq {
            KdcReq {
                pvno: self.integer(),
                msg_type: self.integer(),
                padata: self.opt(Self::padata),
                req_body: KdcReqBody {
                    kdc_options: KdcOptions(self.flags()),
                    cname: self.opt(Self::name),
                    realm: self.string(),
                    sname: self.opt(Self::name),
                    from: self.opt(Self::time),
                    till: self.time(),
                    rtime: self.opt(Self::time),
                    nonce: self.u32(),
                    etype: self.seq(Self::i32),
                    addresses: self.opt(Self::addresses),
                    enc_authorization_data: self.opt(Self::enc_data),
                    additional_tickets: self.opt(|g| g.seq(Self::ticket)),
                },
            }
        }
        fn enc_kdc_rep_part(&mut self) -> EncKdcRepPart {
            EncKdcRepPart {
                key: self.key(),
                last_req: self.seq(|g| LastReqValue { r#type: g.i32(), value: g.time() }),
                nonce: self.u32(),
                key_expiration: self.opt(Self::time),
                flags: TicketFlags(self.flags()),
                auth_time: self.time(),
                start_time: self.opt(Self::time),
                end_time: self.time(),
                renew_till: self.opt(Self::time),
                srealm: self.string(),
                sname: self.name(),
                caddr: self.opt(Self::addresses),
                encrypted_pa_data: self.opt(Self::padata),
            }
        }
        fn kdc_rep(&mut self) -> KdcRep {
            KdcRep {
                pvno: self.integer(),
                msg_type: self.integer(),
                padata: self.opt(Self::padata),
                crealm: self.string(),
                cname: self.name(),
                ticket: self.ticket(),
                enc_part: self.enc_data(),
            }
        }
        fn authenticator(&mut self) -> Authenticator {
            Authenticator {
                authenticator_vno: self.integer(),
                crealm: self.string(),
                cname: self.name(),
                cksum: self.opt(|g| Checksum { r#type: g.i32(), checksum: g.octets() }),
                cusec: self.integer(),
                ctime: self.time(),
                subkey: self.opt(Self::key),
                seq_number: self.opt(Self::u32),
                authorization_data: self.opt(Self::authz),
            }
        }
        fn krb_error(&mut self) -> KrbError {
            KrbError {
                pvno: self.integer(),
                msg_type: self.integer(),
                ctime: self.opt(Self::time),
                cusec: self.opt(Self::integer),
                stime: self.time(),
                susec: self.integer(),
                error_code: self.i32(),
                crealm: self.opt(Self::string),
                cname: self.opt(Self::name),
                realm: self.string(),
                sname: self.name(),
                e_text: self.opt(Self::string),
                e_data: self.opt(Self::octets),
            }
        }
    }

    const ROUNDS: usize = 400;

    #[test]
    fn small_types_equal_rasn() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for _ in 0..ROUNDS * 4 {
            same(&g.time());
            same(&g.time_in_range());
            same(&g.name());
            same(&g.key());
            same(&Checksum { r#type: g.i32(), checksum: g.octets() });
            same(&g.enc_data());
            same(&TransitedEncoding { r#type: g.i32(), contents: g.octets() });
            same(&g.addresses());
            same(&g.authz());
            same(&g.padata());
            same(&PaEncTsEnc { patimestamp: g.time(), pausec: g.opt(Gen::integer) });
            same(&g.seq(|g| LastReqValue { r#type: g.i32(), value: g.time() }));
            same(&g.seq(|g| EtypeInfo2Entry {
                etype: g.i32(),
                salt: g.opt(Gen::string),
                s2kparams: g.opt(Gen::octets),
            }));
        }
    }

    #[test]
    fn tickets_and_kdc_messages_equal_rasn() {
        let mut g = Gen(0x0123_4567_89ab_cdef);
        for _ in 0..ROUNDS {
            same(&g.ticket());
            same(&g.enc_ticket_part());
            let req = g.kdc_req();
            same(&req.req_body);
            same(&req);
            same(&AsReq(req.clone()));
            same(&TgsReq(req));
            let rep = g.kdc_rep();
            same(&rep);
            same(&AsRep(rep.clone()));
            same(&TgsRep(rep));
            let part = g.enc_kdc_rep_part();
            same(&part);
            same(&EncAsRepPart(part.clone()));
            same(&EncTgsRepPart(part));
            same(&g.krb_error());
        }
    }

    #[test]
    fn ap_and_priv_messages_equal_rasn() {
        let mut g = Gen(0xfeed_f00d_dead_beef);
        for _ in 0..ROUNDS {
            same(&ApReq {
                pvno: g.integer(),
                msg_type: g.integer(),
                ap_options: ApOptions(g.flags()),
                ticket: g.ticket(),
                authenticator: g.enc_data(),
            });
            same(&g.authenticator());
            same(&ApRep { pvno: g.integer(), msg_type: g.integer(), enc_part: g.enc_data() });
            same(&EncApRepPart {
                ctime: g.time(),
                cusec: g.integer(),
                subkey: g.opt(Gen::key),
                seq_number: g.opt(Gen::u32),
            });
            same(&KrbPriv { pvno: g.integer(), msg_type: g.integer(), enc_part: g.enc_data() });
            same(&EncKrbPrivPart {
                user_data: g.octets(),
                timestamp: g.opt(Gen::time),
                usec: g.opt(Gen::integer),
                seq_number: g.opt(Gen::u32),
                sender_address: HostAddress { addr_type: g.i32(), address: g.octets() },
                recipient_address: g.opt(|g| HostAddress { addr_type: g.i32(), address: g.octets() }),
            });
        }
    }

    /// Every length from 0 to 700 and around 2^16 and 2^24, for a leaf that sits under several
    /// nested constructed values (each crosses the short/long boundaries at a different point).
    #[test]
    fn every_length_boundary_of_nested_values() {
        let mut g = Gen(7);
        let mut lens: Vec<usize> = (0..=700).collect();
        lens.extend((65_500..65_560).chain(16_777_200..16_777_220).step_by(3));
        for len in lens {
            let cipher = OctetString::from(vec![0x5a; len]);
            let enc_part = EncryptedData { etype: 18, kvno: (len % 2 == 0).then_some(2), cipher };
            let ticket = Ticket { tkt_vno: Integer::from(5), realm: g.string(), sname: g.name(), enc_part };
            same(&ticket.enc_part);
            same(&PaData { r#type: 1, value: OctetString::from(vec![1; len]) });
            if len <= 700 {
                let name =
                    PrincipalName { r#type: 1, string: vec![GeneralString::from_bytes(&vec![b'a'; len]).unwrap()] };
                same(&name);
                same(&vec![g.key(), EncryptionKey { r#type: 17, value: OctetString::from(vec![2; len]) }]);
                same(&EncryptionKey { r#type: -1, value: OctetString::from(vec![3; len]) });
                let mut rep = g.kdc_rep();
                rep.ticket = ticket.clone();
                same(&TgsRep(rep));
            }
            same(&ticket);
        }
    }

    /// Flags that do not start on an octet boundary take the bit-by-bit path.
    #[test]
    fn misaligned_flags_equal_rasn() {
        let mut g = Gen(11);
        for skip in 0..16 {
            for len in [0, 1, 8, 31, 32, 33] {
                let whole = BitString::from_vec(g.next().to_be_bytes().to_vec());
                let bits: BitString = whole[skip..(skip + len).min(64)].to_bitvec();
                same(&ApReq {
                    pvno: Integer::from(5),
                    msg_type: Integer::from(14),
                    ap_options: ApOptions(bits),
                    ticket: g.ticket(),
                    authenticator: g.enc_data(),
                });
            }
        }
    }

    #[test]
    fn known_encodings() {
        // INTEGER edges: minimal two's complement.
        for (v, want) in [
            (0i64, &[0u8][..]),
            (-1, &[0xff]),
            (127, &[0x7f]),
            (128, &[0, 0x80]),
            (-128, &[0x80]),
            (-129, &[0xff, 0x7f]),
            (u32::MAX.into(), &[0, 0xff, 0xff, 0xff, 0xff]),
            (i32::MIN.into(), &[0x80, 0, 0, 0]),
        ] {
            let (b, i) = int_octets(v);
            assert_eq!(&b[i..], want, "{v}");
        }
        let t = KerberosTime(FixedOffset::east_opt(0).unwrap().timestamp_opt(0, 0).unwrap());
        assert_eq!(encode(&t).unwrap(), b"\x18\x0f19700101000000Z");
        let mut out = vec![];
        let at = open(&mut out, SEQUENCE);
        out.extend_from_slice(&[0; 300]);
        close(&mut out, at);
        assert_eq!(&out[..4], [0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(out.len(), 304);
    }
}
