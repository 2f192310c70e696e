//! Hand-written DER encoding ([`ToDer`]) of the RFC 4120 messages (issue 17: rasn's generic
//! encoder was a tenth of a TGS exchange); KRB-CRED and its parts still go through rasn.
//!
//! Each type knows the size of its encoding ([`Enc::der_len`]), so a message is written into an
//! output buffer reserved once at the exact size: no reallocation, and no stray copy of an
//! encrypted part's plaintext left behind by one. The message's own headers come from that size;
//! EncryptedData and Ticket, which hold the long cipher texts, are sized wherever they are
//! nested; any other constructed value gets a one-byte length slot that is patched when it
//! closes, its contents shifted along in place when they turn out to be 128 bytes or more (the
//! long form). Sizing every level instead measured ~2,000 instructions more per TGS: sizes get
//! recomputed at each depth. The output equals rasn's DER for every value (the tests below and
//! the fixture tests compare the two).

use rasn::types::{BitString, GeneralString, Integer, IntegerType};

use super::codec::to_der_via_rasn;
use super::*;
use crate::time::civil_from_days;

to_der_via_rasn!(EncKrbCredPart, KrbCred, KrbCredInfo);

/// Infallible encoding of one value (its whole TLV), so nested values need no `?`.
trait Enc {
    /// Whether the value is worth sizing wherever it is nested (its size is cheap next to
    /// moving its long contents): a tag around it gets its length written directly rather than
    /// a slot that the long form would make move.
    const SIZED: bool = false;
    /// The size of the whole encoding, in bytes.
    fn der_len(&self) -> usize;
    /// Appends the encoding.
    fn enc(&self, out: &mut Vec<u8>);
    /// Appends the encoding, whose size `der_len` the caller has just computed: constructed
    /// types write their headers from it instead of patching length slots.
    #[inline]
    fn enc_sized(&self, out: &mut Vec<u8>, der_len: usize) {
        let _ = der_len;
        self.enc(out);
    }
}

/// [`ToDer`] for the hand-written types: nothing they hold can fail to encode.
macro_rules! to_der_via_enc {
    ($($t:ty),* $(,)?) => {$(
        impl ToDer for $t {
            fn write_der(&self, out: &mut Vec<u8>) -> Result<()> {
                let len = self.der_len();
                out.reserve_exact(len);
                self.enc_sized(out, len);
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
        out.reserve_exact(self.der_len());
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

/// The contents length of a TLV (one-byte tag) of `total` bytes that [`tlv_len`] gave.
#[inline]
fn inner_len(total: usize) -> usize {
    // The length octets take 1 to 9 bytes: a few steps at most.
    let mut len = total.saturating_sub(2);
    while len > 0 && tlv_len(len) > total {
        len -= 1;
    }
    len
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
    } else {
        shift_long(out, start, len);
    }
}

/// The long form for [`close`]: the length octets go in after the slot, the contents move up.
#[cold]
fn shift_long(out: &mut Vec<u8>, start: usize, len: usize) {
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

/// The minimal two's-complement octets of `v`: the array and the index of the first one used.
#[inline]
fn int_octets(v: i64) -> ([u8; 8], usize) {
    // The value bits plus one sign bit, in whole octets.
    let redundant = if v < 0 { v.leading_ones() } else { v.leading_zeros() };
    let octets = (64 - redundant) / 8 + 1;
    (v.to_be_bytes(), 8 - octets as usize)
}

/// The size of the INTEGER TLV of `v`.
#[inline]
fn int_len(v: i64) -> usize {
    2 + 8 - int_octets(v).1
}

/// The INTEGER TLV of `v`.
#[inline]
fn put_int(out: &mut Vec<u8>, v: i64) {
    let (b, i) = int_octets(v);
    out.extend_from_slice(&[INTEGER, (8 - i) as u8]);
    out.extend_from_slice(&b[i..]);
}

/// One field of a SEQUENCE: the value under its explicit tag `[n]`, or nothing for an absent
/// OPTIONAL.
trait Field {
    /// The size of the field, tag included.
    fn field_len(&self) -> usize;
    /// Appends the field as `[n]`.
    fn put_field(&self, n: u8, out: &mut Vec<u8>);
}

impl<T: Enc> Field for T {
    #[inline]
    fn field_len(&self) -> usize {
        tlv_len(self.der_len())
    }
    #[inline]
    fn put_field(&self, n: u8, out: &mut Vec<u8>) {
        if T::SIZED {
            let len = self.der_len();
            out.push(ctx(n));
            push_len(out, len);
            self.enc_sized(out, len);
        } else {
            let at = open(out, ctx(n));
            self.enc(out);
            close(out, at);
        }
    }
}

impl<T: Field> Field for Option<T> {
    #[inline]
    fn field_len(&self) -> usize {
        self.as_ref().map_or(0, T::field_len)
    }
    #[inline]
    fn put_field(&self, n: u8, out: &mut Vec<u8>) {
        if let Some(v) = self {
            v.put_field(n, out);
        }
    }
}

/// OCTET STRING fields get their header from the known length: they hold the cipher texts, the
/// bulk of every message, which a length slot would make move.
impl Field for OctetString {
    #[inline]
    fn field_len(&self) -> usize {
        tlv_len(tlv_len(self.len()))
    }
    #[inline]
    fn put_field(&self, n: u8, out: &mut Vec<u8>) {
        out.push(ctx(n));
        push_len(out, tlv_len(self.len()));
        prim(out, OCTET_STRING, self);
    }
}

/// The bounded INTEGERs (Int32, UInt32): DER from their value as an `i64`.
macro_rules! small_int {
    ($($t:ty),*) => {$(
        impl Enc for $t {
            #[inline]
            fn der_len(&self) -> usize {
                int_len((*self).into())
            }
            #[inline]
            fn enc(&self, out: &mut Vec<u8>) {
                put_int(out, (*self).into());
            }
        }
    )*};
}
small_int!(i32, u32);

/// The unbounded INTEGERs (pvno, msg-type, Microseconds), in rasn's own octets.
impl Enc for Integer {
    #[inline]
    fn der_len(&self) -> usize {
        tlv_len(self.to_signed_bytes_be().1)
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        let (b, len) = self.to_signed_bytes_be();
        prim(out, INTEGER, &b.as_ref()[..len]);
    }
}

/// Realm, KerberosString.
impl Enc for GeneralString {
    #[inline]
    fn der_len(&self) -> usize {
        tlv_len(self.as_bytes().len())
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        prim(out, GENERAL_STRING, self.as_bytes());
    }
}

/// The size of the BIT STRING TLV of KerberosFlags.
#[inline]
fn flags_len(v: &BitString) -> usize {
    tlv_len(v.len().div_ceil(8) + 1)
}

/// A BIT STRING (KerberosFlags): the unused-bit count, then the bits padded with zeros.
fn put_flags(out: &mut Vec<u8>, v: &BitString) {
    let octets = v.len().div_ceil(8);
    let unused = (octets * 8 - v.len()) as u8;
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

/// The three KerberosFlags types.
macro_rules! flags {
    ($($t:ty),*) => {$(
        impl Enc for $t {
            #[inline]
            fn der_len(&self) -> usize {
                flags_len(&self.0)
            }
            #[inline]
            fn enc(&self, out: &mut Vec<u8>) {
                put_flags(out, &self.0);
            }
        }
    )*};
}

flags!(TicketFlags, KdcOptions, ApOptions);

/// The first second of year 0 and the last of year 9999, UTC: the range of four-digit years.
const YEAR_0: i64 = -62_167_219_200;
const YEAR_9999_END: i64 = 253_402_300_799;

/// The two decimal digits of `v` (below 100).
#[inline]
fn pair(v: u32) -> [u8; 2] {
    const DIGITS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    let i = 2 * (v as usize % 100);
    [DIGITS[i], DIGITS[i + 1]]
}

/// Writes `v` (below 100) as two digits at `buf[*n..]`.
#[inline]
fn put_pair(buf: &mut [u8], n: &mut usize, v: u32) {
    buf[*n] = b'0' + (v / 10) as u8;
    buf[*n + 1] = b'0' + (v % 10) as u8;
    *n += 2;
}

/// `v` in decimal, zero-padded to at least `width` digits (at most 20, a `u64`'s most): the digits
/// are `digits[start..]` of the returned `(digits, start)`.
pub(crate) fn decimal(mut v: u64, width: usize) -> ([u8; 20], usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    // Two digits per division, from the right; the zeros already there are the padding.
    while v >= 100 {
        i -= 2;
        digits[i..i + 2].copy_from_slice(&pair((v % 100) as u32));
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        digits[i..i + 2].copy_from_slice(&pair(v as u32));
    } else {
        i -= 1;
        digits[i] = b'0' + v as u8;
    }
    (digits, i.min(digits.len() - width.min(digits.len())))
}

/// Writes `v` in decimal, zero-padded to at least `width` digits, at `buf[*n..]`.
fn put_decimal(buf: &mut [u8], n: &mut usize, v: u64, width: usize) {
    let (digits, start) = decimal(v, width);
    let len = digits.len() - start;
    buf[*n..*n + len].copy_from_slice(&digits[start..]);
    *n += len;
}

/// The GeneralizedTime text of `t` in X.690's canonical form, as rasn writes it: UTC,
/// `YYYYMMDDHHMMSS`, a fraction only when not zero and without trailing zeros, `Z`; a leap
/// second is second 60; a year outside 0..=9999 has a sign and as many digits as it needs.
fn time_text(t: &KerberosTime) -> ([u8; 32], usize) {
    let secs = t.0.timestamp();
    // Past 999,999,999 for a leap second (chrono's representation).
    let mut nanos = t.0.timestamp_subsec_nanos();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let mut second = sod % 60;
    if nanos >= 1_000_000_000 {
        second += 1;
        nanos -= 1_000_000_000;
    }
    let mut buf = [0u8; 32];
    let mut n = 0;
    if (0..=9999).contains(&year) {
        put_pair(&mut buf, &mut n, (year / 100) as u32);
        put_pair(&mut buf, &mut n, (year % 100) as u32);
    } else {
        buf[0] = if year < 0 { b'-' } else { b'+' };
        n = 1;
        put_decimal(&mut buf, &mut n, year.unsigned_abs(), 4);
    }
    for v in [month, day, sod / 3600, sod / 60 % 60, second] {
        put_pair(&mut buf, &mut n, v);
    }
    if nanos > 0 {
        buf[n] = b'.';
        n += 1;
        let mut digits = 9;
        while nanos.is_multiple_of(10) {
            nanos /= 10;
            digits -= 1;
        }
        put_decimal(&mut buf, &mut n, nanos.into(), digits);
    }
    buf[n] = b'Z';
    (buf, n + 1)
}

/// The GeneralizedTime TLV of whole seconds `secs` in a four-digit year (the caller checks the
/// range): the 17 bytes in one go.
#[inline]
fn put_time_secs(out: &mut Vec<u8>, secs: i64) {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let (y, sod) = (year as u32, secs.rem_euclid(86_400) as u32);
    let (c, y) = (pair(y / 100), pair(y % 100));
    let (mo, d, h, mi, s) = (pair(month), pair(day), pair(sod / 3600), pair(sod / 60 % 60), pair(sod % 60));
    out.extend_from_slice(&[
        GENERALIZED_TIME,
        15,
        c[0],
        c[1],
        y[0],
        y[1],
        mo[0],
        mo[1],
        d[0],
        d[1],
        h[0],
        h[1],
        mi[0],
        mi[1],
        s[0],
        s[1],
        b'Z',
    ]);
}

impl Enc for KerberosTime {
    #[inline]
    fn der_len(&self) -> usize {
        let secs = self.0.timestamp();
        if self.0.timestamp_subsec_nanos() == 0 && (YEAR_0..=YEAR_9999_END).contains(&secs) {
            2 + 15
        } else {
            2 + time_text(self).1
        }
    }
    fn enc(&self, out: &mut Vec<u8>) {
        let secs = self.0.timestamp();
        if self.0.timestamp_subsec_nanos() == 0 && (YEAR_0..=YEAR_9999_END).contains(&secs) {
            // The usual case, whole seconds in a four-digit year.
            put_time_secs(out, secs);
        } else {
            let (text, n) = time_text(self);
            prim(out, GENERALIZED_TIME, &text[..n]);
        }
    }
}

/// A [`Time`] as a KerberosTime, without chrono: its whole seconds, clamped to 1970..=9999 as
/// [`kerberos_time`] does (the encodings are equal).
impl Enc for Time {
    #[inline]
    fn der_len(&self) -> usize {
        2 + 15
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        put_time_secs(out, self.unix().clamp(0, YEAR_9999_END));
    }
}

/// [`Flags`] as KerberosFlags: the 32 bits [`FlagBits::to_bits`] gives, without a BitString.
impl Enc for Flags {
    #[inline]
    fn der_len(&self) -> usize {
        7
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        let b = self.0.to_be_bytes();
        out.extend_from_slice(&[BIT_STRING, 5, 0, b[0], b[1], b[2], b[3]]);
    }
}

/// A value nested by reference (the borrowed message forms below).
impl<T: Enc> Enc for &T {
    const SIZED: bool = T::SIZED;
    #[inline]
    fn der_len(&self) -> usize {
        (**self).der_len()
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        (**self).enc(out)
    }
    #[inline]
    fn enc_sized(&self, out: &mut Vec<u8>, der_len: usize) {
        (**self).enc_sized(out, der_len)
    }
}

/// The size of a SEQUENCE OF `items`.
fn seq_of_len<T: Enc>(items: &[T]) -> usize {
    tlv_len(items.iter().map(T::der_len).sum())
}

/// A SEQUENCE OF `items`.
fn put_seq_of<T: Enc>(items: &[T], out: &mut Vec<u8>) {
    let at = open(out, SEQUENCE);
    for v in items {
        v.enc(out);
    }
    close(out, at);
}

impl<T: Enc> Enc for Vec<T> {
    fn der_len(&self) -> usize {
        seq_of_len(self)
    }
    fn enc(&self, out: &mut Vec<u8>) {
        put_seq_of(self, out);
    }
}

/// A SEQUENCE OF a fixed number of values (the one-entry LastReq of a reply).
impl<T: Enc, const N: usize> Enc for [T; N] {
    fn der_len(&self) -> usize {
        seq_of_len(self)
    }
    fn enc(&self, out: &mut Vec<u8>) {
        put_seq_of(self, out);
    }
}

/// A SEQUENCE of explicitly tagged fields, optionally under an explicit `[APPLICATION a]`.
/// `sized` ones are worth sizing wherever they are nested (their size is cheap next to moving
/// their long contents); the others write headers from a known size only at the top
/// ([`Enc::enc_sized`]) and use length slots below.
macro_rules! sequence {
    ($t:ty { $($n:literal => $f:ident),* $(,)? }) => {
        impl Enc for $t {
            fn der_len(&self) -> usize {
                tlv_len(0 $(+ self.$f.field_len())*)
            }
            fn enc(&self, out: &mut Vec<u8>) {
                let seq = open(out, SEQUENCE);
                $( self.$f.put_field($n, out); )*
                close(out, seq);
            }
            fn enc_sized(&self, out: &mut Vec<u8>, der_len: usize) {
                out.push(SEQUENCE);
                push_len(out, inner_len(der_len));
                $( self.$f.put_field($n, out); )*
            }
        }
    };
    ($t:ty [app $a:literal] { $($n:literal => $f:ident),* $(,)? }) => {
        sequence!(@app false, $t, $a, { $($n => $f),* });
    };
    (sized $t:ty [app $a:literal] { $($n:literal => $f:ident),* $(,)? }) => {
        sequence!(@app true, $t, $a, { $($n => $f),* });
    };
    (@app $sized:literal, $t:ty, $a:literal, { $($n:literal => $f:ident),* }) => {
        impl Enc for $t {
            const SIZED: bool = $sized;
            fn der_len(&self) -> usize {
                tlv_len(tlv_len(0 $(+ self.$f.field_len())*))
            }
            fn enc(&self, out: &mut Vec<u8>) {
                let outer = open(out, app($a));
                let seq = open(out, SEQUENCE);
                $( self.$f.put_field($n, out); )*
                close(out, seq);
                close(out, outer);
            }
            fn enc_sized(&self, out: &mut Vec<u8>, der_len: usize) {
                let outer = inner_len(der_len);
                out.push(app($a));
                push_len(out, outer);
                out.push(SEQUENCE);
                push_len(out, inner_len(outer));
                $( self.$f.put_field($n, out); )*
            }
        }
    };
    (sized $t:ty { $($n:literal => $f:ident),* $(,)? }) => {
        impl Enc for $t {
            const SIZED: bool = true;
            fn der_len(&self) -> usize {
                tlv_len(0 $(+ self.$f.field_len())*)
            }
            fn enc(&self, out: &mut Vec<u8>) {
                out.push(SEQUENCE);
                push_len(out, 0 $(+ self.$f.field_len())*);
                $( self.$f.put_field($n, out); )*
            }
            fn enc_sized(&self, out: &mut Vec<u8>, der_len: usize) {
                out.push(SEQUENCE);
                push_len(out, inner_len(der_len));
                $( self.$f.put_field($n, out); )*
            }
        }
    };
}

/// The messages that are another type under an explicit `[APPLICATION a]`.
macro_rules! application {
    ($($t:ty = $a:literal),* $(,)?) => {$(
        impl Enc for $t {
            fn der_len(&self) -> usize {
                tlv_len(self.0.der_len())
            }
            fn enc(&self, out: &mut Vec<u8>) {
                let at = open(out, app($a));
                self.0.enc(out);
                close(out, at);
            }
            fn enc_sized(&self, out: &mut Vec<u8>, der_len: usize) {
                let inner = inner_len(der_len);
                out.push(app($a));
                push_len(out, inner);
                self.0.enc_sized(out, inner);
            }
        }
    )*};
}

application!(AsReq = 10, AsRep = 11, TgsReq = 12, TgsRep = 13, EncAsRepPart = 25, EncTgsRepPart = 26);

sequence!(PrincipalName { 0 => r#type, 1 => string });
sequence!(sized EncryptionKey { 0 => r#type, 1 => value });
sequence!(sized Checksum { 0 => r#type, 1 => checksum });
sequence!(sized TransitedEncoding { 0 => r#type, 1 => contents });
sequence!(sized HostAddress { 0 => addr_type, 1 => address });
sequence!(sized AuthorizationDataValue { 0 => r#type, 1 => data });
sequence!(sized PaData { 1 => r#type, 2 => value });
sequence!(sized EncryptedData { 0 => etype, 1 => kvno, 2 => cipher });
sequence!(LastReqValue { 0 => r#type, 1 => value });
sequence!(EtypeInfo2Entry { 0 => etype, 1 => salt, 2 => s2kparams });
sequence!(PaEncTsEnc { 0 => patimestamp, 1 => pausec });
sequence!(sized Ticket [app 1] { 0 => tkt_vno, 1 => realm, 2 => sname, 3 => enc_part });
sequence!(EncTicketPart [app 3] {
    0 => flags,
    1 => key,
    2 => crealm,
    3 => cname,
    4 => transited,
    5 => auth_time,
    6 => start_time,
    7 => end_time,
    8 => renew_till,
    9 => caddr,
    10 => authorization_data,
});
sequence!(KdcReqBody {
    0 => kdc_options,
    1 => cname,
    2 => realm,
    3 => sname,
    4 => from,
    5 => till,
    6 => rtime,
    7 => nonce,
    8 => etype,
    9 => addresses,
    10 => enc_authorization_data,
    11 => additional_tickets,
});
sequence!(KdcReq { 1 => pvno, 2 => msg_type, 3 => padata, 4 => req_body });
sequence!(KdcRep { 0 => pvno, 1 => msg_type, 2 => padata, 3 => crealm, 4 => cname, 5 => ticket, 6 => enc_part });
sequence!(EncKdcRepPart {
    0 => key,
    1 => last_req,
    2 => nonce,
    3 => key_expiration,
    4 => flags,
    5 => auth_time,
    6 => start_time,
    7 => end_time,
    8 => renew_till,
    9 => srealm,
    10 => sname,
    11 => caddr,
    12 => encrypted_pa_data,
});
sequence!(ApReq [app 14] { 0 => pvno, 1 => msg_type, 2 => ap_options, 3 => ticket, 4 => authenticator });
sequence!(Authenticator [app 2] {
    0 => authenticator_vno,
    1 => crealm,
    2 => cname,
    3 => cksum,
    4 => cusec,
    5 => ctime,
    6 => subkey,
    7 => seq_number,
    8 => authorization_data,
});
sequence!(ApRep [app 15] { 0 => pvno, 1 => msg_type, 2 => enc_part });
sequence!(EncApRepPart [app 27] { 0 => ctime, 1 => cusec, 2 => subkey, 3 => seq_number });
sequence!(KrbError [app 30] {
    0 => pvno,
    1 => msg_type,
    2 => ctime,
    3 => cusec,
    4 => stime,
    5 => susec,
    6 => error_code,
    7 => crealm,
    8 => cname,
    9 => realm,
    10 => sname,
    11 => e_text,
    12 => e_data,
});
sequence!(KrbPriv [app 21] { 0 => pvno, 1 => msg_type, 3 => enc_part });
sequence!(EncKrbPrivPart [app 28] {
    0 => user_data,
    1 => timestamp,
    2 => usec,
    3 => seq_number,
    4 => sender_address,
    5 => recipient_address,
});

// ---------------------------------------------------------------------------------------------
// Messages written straight from the library's own values (issue 17, fifth round): principals,
// times, flags and key bytes borrowed where they are, no intermediate rasn value (each of those
// cost allocations, GeneralString checks, chrono conversions and a key copy to wipe). The bytes
// equal those of the rasn-typed value with the same contents (the tests below).
// ---------------------------------------------------------------------------------------------

/// OCTET STRING fields from borrowed bytes (key values), like [`OctetString`]'s.
impl Field for &[u8] {
    #[inline]
    fn field_len(&self) -> usize {
        tlv_len(tlv_len(self.len()))
    }
    #[inline]
    fn put_field(&self, n: u8, out: &mut Vec<u8>) {
        out.push(ctx(n));
        push_len(out, tlv_len(self.len()));
        prim(out, OCTET_STRING, self);
    }
}

/// DER written as it is: a value encoded elsewhere (a cached ticket, as the KDC sent it).
#[derive(Clone, Copy, Debug)]
pub struct RawDer<'a>(&'a [u8]);

impl<'a> RawDer<'a> {
    /// `bytes` when they are exactly one TLV with identifier `tag` (its contents are not
    /// looked at): `KTIX_ERR_MALFORMED` otherwise.
    pub fn one(bytes: &'a [u8], tag: u8) -> Result<RawDer<'a>> {
        let t = tlv(bytes, 0)?;
        if t.tag != tag || t.end() != bytes.len() {
            return Err(Error::malformed(format_args!("not one TLV with identifier {tag:#04x}")));
        }
        Ok(RawDer(bytes))
    }
}

impl Enc for RawDer<'_> {
    const SIZED: bool = true;
    #[inline]
    fn der_len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0);
    }
}

/// A KerberosString or Realm borrowed from text (or bytes, a salt), checked once against
/// GeneralString's alphabet.
#[derive(Clone, Copy, Debug)]
pub struct Str<'a>(&'a [u8]);

impl<'a> Str<'a> {
    /// `s`, or the error [`kstring`] gives for text a KerberosString cannot carry.
    pub fn new(s: &'a str) -> Result<Str<'a>> {
        check_kstring(s)?;
        Ok(Str(s.as_bytes()))
    }

    /// Any bytes (a salt), `None` outside GeneralString's alphabet, as [`kstring_bytes`].
    pub fn bytes(b: &'a [u8]) -> Option<Str<'a>> {
        in_general_string(b).then_some(Str(b))
    }
}

impl Enc for Str<'_> {
    #[inline]
    fn der_len(&self) -> usize {
        tlv_len(self.0.len())
    }
    #[inline]
    fn enc(&self, out: &mut Vec<u8>) {
        prim(out, GENERAL_STRING, self.0);
    }
}

/// A PrincipalName: a [`Principal`]'s (components checked once, as [`principal_name`] checks
/// them), or one read from a request and sent back as it came.
#[derive(Clone, Copy, Debug)]
pub enum Name<'a> {
    /// A principal's name type and components.
    Of(&'a Principal),
    /// A PrincipalName as read from a request: its name type and components' bytes, written in
    /// DER whatever length forms they came in.
    In(NameIn<'a>),
}

impl<'a> Name<'a> {
    /// The name of `p`, or the error [`principal_name`] gives.
    pub fn of(p: &'a Principal) -> Result<Name<'a>> {
        for c in p.components() {
            check_kstring(c)?;
        }
        Ok(Name::Of(p))
    }
}

/// The length of a PrincipalName of `name_type` and `components`.
fn name_len<'c>(name_type: i32, components: impl Iterator<Item = &'c [u8]>) -> usize {
    let strings: usize = components.map(|c| tlv_len(c.len())).sum();
    tlv_len(name_type.field_len() + tlv_len(tlv_len(strings)))
}

/// Writes a PrincipalName of `name_type` and `components`.
fn enc_name<'c>(out: &mut Vec<u8>, name_type: i32, components: impl Iterator<Item = &'c [u8]>) {
    let seq = open(out, SEQUENCE);
    name_type.put_field(0, out);
    let field = open(out, ctx(1));
    let strings = open(out, SEQUENCE);
    for c in components {
        prim(out, GENERAL_STRING, c);
    }
    close(out, strings);
    close(out, field);
    close(out, seq);
}

impl Enc for Name<'_> {
    fn der_len(&self) -> usize {
        match self {
            Name::Of(p) => name_len(p.name_type(), p.components().iter().map(|c| c.as_bytes())),
            Name::In(n) => name_len(n.name_type, n.components()),
        }
    }
    fn enc(&self, out: &mut Vec<u8>) {
        match self {
            Name::Of(p) => enc_name(out, p.name_type(), p.components().iter().map(|c| c.as_bytes())),
            Name::In(n) => enc_name(out, n.name_type, n.components()),
        }
    }
}

/// An EncryptionKey from a key's enctype number and bytes, borrowed: written straight into the
/// (zeroizing) plaintext buffer, so no copy of the key is left to wipe.
#[derive(Clone, Copy)]
pub struct KeyBytes<'a> {
    /// The enctype number.
    pub etype: i32,
    /// The key bytes.
    pub value: &'a [u8],
}

impl std::fmt::Debug for KeyBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyBytes({}, ..)", self.etype)
    }
}

/// An EncryptedData as sealing makes it: the cipher text in a plain `Vec` (no `Bytes` to
/// convert it into and to drop again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedDataOut {
    /// etype.
    pub etype: i32,
    /// kvno.
    pub kvno: Option<u32>,
    /// cipher.
    pub cipher: Vec<u8>,
}

impl From<EncryptedDataOut> for EncryptedData {
    fn from(e: EncryptedDataOut) -> EncryptedData {
        EncryptedData { etype: e.etype, kvno: e.kvno, cipher: octets(e.cipher) }
    }
}

/// OCTET STRING fields from an owned buffer (cipher texts), like [`OctetString`]'s.
impl Field for Vec<u8> {
    #[inline]
    fn field_len(&self) -> usize {
        self.as_slice().field_len()
    }
    #[inline]
    fn put_field(&self, n: u8, out: &mut Vec<u8>) {
        self.as_slice().put_field(n, out)
    }
}

/// One LastReq entry.
#[derive(Clone, Copy, Debug)]
pub struct LastReqEntry {
    /// lr-type.
    pub r#type: i32,
    /// lr-value.
    pub value: Time,
}

/// A Ticket whose realm and name are borrowed from the server's [`Principal`].
#[derive(Debug)]
pub struct TicketOut<'a> {
    /// tkt-vno (5).
    pub tkt_vno: i32,
    /// realm.
    pub realm: Str<'a>,
    /// sname.
    pub sname: Name<'a>,
    /// enc-part.
    pub enc_part: EncryptedDataOut,
}

/// An EncTicketPart borrowing everything it says.
#[derive(Debug)]
pub struct EncTicketPartOut<'a> {
    /// flags.
    pub flags: Flags,
    /// key.
    pub key: KeyBytes<'a>,
    /// crealm.
    pub crealm: Str<'a>,
    /// cname.
    pub cname: Name<'a>,
    /// transited.
    pub transited: &'a TransitedEncoding,
    /// authtime.
    pub auth_time: Time,
    /// starttime.
    pub start_time: Option<Time>,
    /// endtime.
    pub end_time: Time,
    /// renew-till.
    pub renew_till: Option<Time>,
    /// caddr.
    pub caddr: Option<&'a HostAddresses>,
    /// authorization-data.
    pub authorization_data: Option<&'a AuthorizationData>,
}

/// An EncKDCRepPart borrowing everything it says (encrypted-pa-data is never sent).
#[derive(Clone, Copy, Debug)]
pub struct EncKdcRepPartOut<'a> {
    /// key.
    pub key: KeyBytes<'a>,
    /// last-req.
    pub last_req: [LastReqEntry; 1],
    /// nonce.
    pub nonce: u32,
    /// key-expiration.
    pub key_expiration: Option<Time>,
    /// flags.
    pub flags: Flags,
    /// authtime.
    pub auth_time: Time,
    /// starttime.
    pub start_time: Option<Time>,
    /// endtime.
    pub end_time: Time,
    /// renew-till.
    pub renew_till: Option<Time>,
    /// srealm.
    pub srealm: Str<'a>,
    /// sname.
    pub sname: Name<'a>,
    /// caddr.
    pub caddr: Option<&'a HostAddresses>,
}

/// EncASRepPart \[APPLICATION 25\] of an [`EncKdcRepPartOut`].
#[derive(Debug)]
pub struct EncAsRepPartOut<'a>(pub EncKdcRepPartOut<'a>);

/// EncTGSRepPart \[APPLICATION 26\] of an [`EncKdcRepPartOut`].
#[derive(Debug)]
pub struct EncTgsRepPartOut<'a>(pub EncKdcRepPartOut<'a>);

/// A KDC-REP whose client name and ticket are borrowed.
#[derive(Debug)]
pub struct KdcRepOut<'a> {
    /// pvno (5).
    pub pvno: i32,
    /// msg-type.
    pub msg_type: i32,
    /// padata (the AS-REP's one PA-ETYPE-INFO2).
    pub padata: Option<SeqOf<PaDataOut<'a>, 1>>,
    /// crealm.
    pub crealm: Str<'a>,
    /// cname.
    pub cname: Name<'a>,
    /// ticket.
    pub ticket: TicketOut<'a>,
    /// enc-part.
    pub enc_part: EncryptedDataOut,
}

/// AS-REP \[APPLICATION 11\] of a [`KdcRepOut`].
#[derive(Debug)]
pub struct AsRepOut<'a>(pub KdcRepOut<'a>);

/// TGS-REP \[APPLICATION 13\] of a [`KdcRepOut`].
#[derive(Debug)]
pub struct TgsRepOut<'a>(pub KdcRepOut<'a>);

/// An Authenticator borrowing the client's name and the subkey.
#[derive(Debug)]
pub struct AuthenticatorOut<'a> {
    /// authenticator-vno (5).
    pub authenticator_vno: i32,
    /// crealm.
    pub crealm: Str<'a>,
    /// cname.
    pub cname: Name<'a>,
    /// cksum.
    pub cksum: Option<Checksum>,
    /// cusec (0..=999999).
    pub cusec: u32,
    /// ctime.
    pub ctime: Time,
    /// subkey.
    pub subkey: Option<KeyBytes<'a>>,
    /// seq-number.
    pub seq_number: Option<u32>,
}

/// An AP-REQ whose ticket is written as it was received.
#[derive(Debug)]
pub struct ApReqOut<'a> {
    /// pvno (5).
    pub pvno: i32,
    /// msg-type (14).
    pub msg_type: i32,
    /// ap-options.
    pub ap_options: Flags,
    /// The ticket's DER.
    pub ticket: RawDer<'a>,
    /// authenticator.
    pub authenticator: EncryptedData,
}

/// A KRB-ERROR borrowing its names, e-text and e-data (every error reply of the KDC).
#[derive(Clone, Copy, Debug)]
pub struct KrbErrorOut<'a> {
    /// pvno (5).
    pub pvno: i32,
    /// msg-type (30).
    pub msg_type: i32,
    /// stime.
    pub stime: Time,
    /// susec (0..=999999).
    pub susec: u32,
    /// error-code.
    pub error_code: i32,
    /// crealm.
    pub crealm: Option<Str<'a>>,
    /// cname.
    pub cname: Option<Name<'a>>,
    /// realm.
    pub realm: Str<'a>,
    /// sname.
    pub sname: Name<'a>,
    /// e-text.
    pub e_text: Option<Str<'a>>,
    /// e-data.
    pub e_data: Option<&'a [u8]>,
}

/// A PA-DATA with a borrowed value.
#[derive(Clone, Copy, Debug)]
pub struct PaDataOut<'a> {
    /// padata-type.
    pub r#type: i32,
    /// padata-value.
    pub value: &'a [u8],
}

/// An ETYPE-INFO2-ENTRY borrowing the salt and s2kparams of a key.
#[derive(Clone, Copy, Debug)]
pub struct EtypeInfo2EntryOut<'a> {
    /// etype.
    pub etype: i32,
    /// salt.
    pub salt: Option<Str<'a>>,
    /// s2kparams.
    pub s2kparams: Option<&'a [u8]>,
}

/// A SEQUENCE OF borrowed values held in a fixed array (METHOD-DATA, ETYPE-INFO2): no `Vec`.
#[derive(Clone, Copy, Debug)]
pub struct SeqOf<T, const N: usize>(pub [T; N]);

impl<T: Enc, const N: usize> Enc for SeqOf<T, N> {
    fn der_len(&self) -> usize {
        tlv_len(self.0.iter().map(T::der_len).sum())
    }
    fn enc(&self, out: &mut Vec<u8>) {
        let seq = open(out, SEQUENCE);
        self.0.iter().for_each(|v| v.enc(out));
        close(out, seq);
    }
}

sequence!(sized KeyBytes<'_> { 0 => etype, 1 => value });
sequence!(sized EncryptedDataOut { 0 => etype, 1 => kvno, 2 => cipher });
sequence!(LastReqEntry { 0 => r#type, 1 => value });
sequence!(sized TicketOut<'_> [app 1] { 0 => tkt_vno, 1 => realm, 2 => sname, 3 => enc_part });
sequence!(EncTicketPartOut<'_> [app 3] {
    0 => flags,
    1 => key,
    2 => crealm,
    3 => cname,
    4 => transited,
    5 => auth_time,
    6 => start_time,
    7 => end_time,
    8 => renew_till,
    9 => caddr,
    10 => authorization_data,
});
sequence!(EncKdcRepPartOut<'_> {
    0 => key,
    1 => last_req,
    2 => nonce,
    3 => key_expiration,
    4 => flags,
    5 => auth_time,
    6 => start_time,
    7 => end_time,
    8 => renew_till,
    9 => srealm,
    10 => sname,
    11 => caddr,
});
sequence!(KdcRepOut<'_> { 0 => pvno, 1 => msg_type, 2 => padata, 3 => crealm, 4 => cname, 5 => ticket, 6 => enc_part });
sequence!(AuthenticatorOut<'_> [app 2] {
    0 => authenticator_vno,
    1 => crealm,
    2 => cname,
    3 => cksum,
    4 => cusec,
    5 => ctime,
    6 => subkey,
    7 => seq_number,
});
sequence!(ApReqOut<'_> [app 14] { 0 => pvno, 1 => msg_type, 2 => ap_options, 3 => ticket, 4 => authenticator });
sequence!(KrbErrorOut<'_> [app 30] {
    0 => pvno,
    1 => msg_type,
    4 => stime,
    5 => susec,
    6 => error_code,
    7 => crealm,
    8 => cname,
    9 => realm,
    10 => sname,
    11 => e_text,
    12 => e_data,
});
sequence!(sized PaDataOut<'_> { 1 => r#type, 2 => value });
sequence!(EtypeInfo2EntryOut<'_> { 0 => etype, 1 => salt, 2 => s2kparams });
application!(
    AsRepOut<'_> = 11,
    TgsRepOut<'_> = 13,
    EncAsRepPartOut<'_> = 25,
    EncTgsRepPartOut<'_> = 26,
);
to_der_via_enc!(
    TicketOut<'_>,
    EncTicketPartOut<'_>,
    AsRepOut<'_>,
    TgsRepOut<'_>,
    EncAsRepPartOut<'_>,
    EncTgsRepPartOut<'_>,
    AuthenticatorOut<'_>,
    ApReqOut<'_>,
    KrbErrorOut<'_>,
    Name<'_>,
);

impl<T: Enc, const N: usize> ToDer for SeqOf<T, N> {
    fn write_der(&self, out: &mut Vec<u8>) -> Result<()> {
        out.reserve_exact(self.der_len());
        self.enc(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

    use super::*;

    /// Our encoding equals rasn's, alone and appended after other bytes, and its size is the
    /// one computed beforehand.
    fn same<T: ToDer + Enc + rasn::Encode + std::fmt::Debug>(v: &T) {
        let theirs = rasn::der::encode(v).unwrap();
        let ours = encode(v).unwrap();
        if ours != theirs {
            panic!("{v:?}:\n ours {ours:02x?}\n rasn {theirs:02x?}");
        }
        assert_eq!(v.der_len(), ours.len(), "{v:?}: der_len");
        // The length-slot form, as the value is written when nested, gives the same bytes.
        let mut slots = Vec::new();
        v.enc(&mut slots);
        assert_eq!(slots, theirs, "{v:?}: length slots");
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

    /// A borrowed form `ours` encodes as rasn encodes `theirs`, sized or with length slots.
    fn same_as<A: Enc + std::fmt::Debug, B: rasn::Encode>(ours: &A, theirs: &B) {
        let want = rasn::der::encode(theirs).unwrap();
        let mut sized = Vec::new();
        ours.enc_sized(&mut sized, ours.der_len());
        assert_eq!(sized, want, "{ours:?}");
        assert_eq!(ours.der_len(), want.len(), "{ours:?}: der_len");
        let mut slots = Vec::new();
        ours.enc(&mut slots);
        assert_eq!(slots, want, "{ours:?}: length slots");
    }

    impl Gen {
        /// A Time anywhere from before 1970 to past 9999 (clamped like `kerberos_time`).
        fn our_time(&mut self) -> Time {
            match self.below(6) {
                0 => Time::from_unix(-(self.next() as i64 >> 20)),
                1 => Time::from_unix(253_402_300_799 + (self.next() >> 40) as i64),
                2 => Time::from_unix_micros(self.next() as i64 >> 1),
                _ => Time::from_unix_parts((self.next() % 4_000_000_000) as i64, self.u32() % 1_000_000),
            }
        }
        /// A principal with UTF-8 components, some of which a KerberosString cannot carry.
        fn principal(&mut self) -> Principal {
            let n = 1 + self.below(3);
            let comps = (0..n)
                .map(|_| {
                    let mut k = self.string();
                    if self.below(8) != 0 {
                        // Mostly ASCII; Latin-1 text becomes UTF-8 that a KerberosString often cannot carry.
                        k.iter_mut().for_each(|b| *b &= 0x7f);
                    }
                    let s = kstring_text(&k);
                    if s.is_empty() {
                        "x".to_string()
                    } else {
                        s
                    }
                })
                .collect();
            let realm = if self.below(8) == 0 { "R\u{e0}.TEST".to_string() } else { "R.TEST".to_string() };
            Principal::new(self.i32(), comps, realm).unwrap()
        }
    }

    #[test]
    fn borrowed_forms_equal_rasn() {
        let mut g = Gen(0x005e_ed0f_f00d);
        let mut names_refused = 0;
        for _ in 0..ROUNDS * 2 {
            let t = g.our_time();
            same_as(&t, &kerberos_time(t));
            let f = Flags(g.u32());
            same_as(&f, &TicketFlags(f.to_bits()));
            let raw = g.ticket();
            let raw_der = rasn::der::encode(&raw).unwrap();
            same_as(&RawDer::one(&raw_der, 0x61).unwrap(), &raw);

            let (client, server) = (g.principal(), g.principal());
            let names = (Name::of(&client), Str::new(client.realm()), Name::of(&server), Str::new(server.realm()));
            let (Ok(cname), Ok(crealm), Ok(sname), Ok(srealm)) = names else {
                assert!(
                    principal_name(&client).is_err()
                        || principal_name(&server).is_err()
                        || kstring(client.realm()).is_err()
                        || kstring(server.realm()).is_err()
                );
                names_refused += 1;
                continue;
            };
            same_as(&cname, &principal_name(&client).unwrap());
            let key_value = g.bytes();
            let key = KeyBytes { etype: g.i32(), value: &key_value };
            let rasn_key = EncryptionKey { r#type: key.etype, value: OctetString::from(key_value.clone()) };
            let transited = TransitedEncoding { r#type: g.i32(), contents: g.octets() };
            let (caddr, authz) = (g.opt(Gen::addresses), g.opt(Gen::authz));
            let (auth_time, start_time, end_time, renew_till) =
                (g.our_time(), g.opt(Gen::our_time), g.our_time(), g.opt(Gen::our_time));
            same_as(
                &EncTicketPartOut {
                    flags: f,
                    key,
                    crealm,
                    cname,
                    transited: &transited,
                    auth_time,
                    start_time,
                    end_time,
                    renew_till,
                    caddr: caddr.as_ref(),
                    authorization_data: authz.as_ref(),
                },
                &EncTicketPart {
                    flags: TicketFlags(f.to_bits()),
                    key: rasn_key.clone(),
                    crealm: kstring(client.realm()).unwrap(),
                    cname: principal_name(&client).unwrap(),
                    transited: transited.clone(),
                    auth_time: kerberos_time(auth_time),
                    start_time: start_time.map(kerberos_time),
                    end_time: kerberos_time(end_time),
                    renew_till: renew_till.map(kerberos_time),
                    caddr: caddr.clone(),
                    authorization_data: authz.clone(),
                },
            );
            let (nonce, key_expiration) = (g.u32(), g.opt(Gen::our_time));
            let part = EncKdcRepPartOut {
                key,
                last_req: [LastReqEntry { r#type: 0, value: auth_time }],
                nonce,
                key_expiration,
                flags: f,
                auth_time,
                start_time,
                end_time,
                renew_till,
                srealm,
                sname,
                caddr: caddr.as_ref(),
            };
            let rasn_part = EncKdcRepPart {
                key: rasn_key.clone(),
                last_req: vec![LastReqValue { r#type: 0, value: kerberos_time(auth_time) }],
                nonce,
                key_expiration: key_expiration.map(kerberos_time),
                flags: TicketFlags(f.to_bits()),
                auth_time: kerberos_time(auth_time),
                start_time: start_time.map(kerberos_time),
                end_time: kerberos_time(end_time),
                renew_till: renew_till.map(kerberos_time),
                srealm: kstring(server.realm()).unwrap(),
                sname: principal_name(&server).unwrap(),
                caddr: caddr.clone(),
                encrypted_pa_data: None,
            };
            same_as(&part, &rasn_part);
            same_as(&EncAsRepPartOut(part), &EncAsRepPart(rasn_part.clone()));
            let part = EncKdcRepPartOut { key_expiration: None, ..part };
            same_as(&EncTgsRepPartOut(part), &EncTgsRepPart(EncKdcRepPart { key_expiration: None, ..rasn_part }));

            let enc_part = g.enc_data();
            let sealed =
                |e: &EncryptedData| EncryptedDataOut { etype: e.etype, kvno: e.kvno, cipher: e.cipher.to_vec() };
            same_as(&sealed(&enc_part), &enc_part);
            let ticket = TicketOut { tkt_vno: 5, realm: srealm, sname, enc_part: sealed(&enc_part) };
            let rasn_ticket = Ticket {
                tkt_vno: Integer::from(5),
                realm: kstring(server.realm()).unwrap(),
                sname: principal_name(&server).unwrap(),
                enc_part: enc_part.clone(),
            };
            same_as(&ticket, &rasn_ticket);
            let decoded_name = g.name();
            let (padata, rep_enc) = (g.opt(|g| PaData { r#type: g.i32(), value: g.octets() }), g.enc_data());
            // A name read from a request and echoed (the AS-REP's cname) encodes as rasn encodes
            // the decoded name.
            let decoded_der = encode(&decoded_name).unwrap();
            let echoed = Name::In(super::dec::decode_name_in(&decoded_der).unwrap());
            for (n, echo) in [(cname, false), (echoed, true)] {
                let rep = KdcRepOut {
                    pvno: 5,
                    msg_type: 13,
                    padata: padata.as_ref().map(|p| SeqOf([PaDataOut { r#type: p.r#type, value: &p.value }])),
                    crealm,
                    cname: n,
                    ticket: TicketOut { enc_part: sealed(&enc_part), ..ticket },
                    enc_part: sealed(&rep_enc),
                };
                let rasn_rep = KdcRep {
                    pvno: Integer::from(5),
                    msg_type: Integer::from(13),
                    padata: padata.clone().map(|p| vec![p]),
                    crealm: kstring(client.realm()).unwrap(),
                    cname: if echo { decoded_name.clone() } else { principal_name(&client).unwrap() },
                    ticket: rasn_ticket.clone(),
                    enc_part: rep_enc.clone(),
                };
                same_as(&rep, &rasn_rep);
                same_as(&AsRepOut(rep), &AsRep(rasn_rep.clone()));
            }
            let (cksum, cusec, ctime) =
                (g.opt(|g| Checksum { r#type: g.i32(), checksum: g.octets() }), g.u32() % 1_000_000, g.our_time());
            let (subkey, seq_number) = (g.coin().then_some(key), g.opt(Gen::u32));
            same_as(
                &AuthenticatorOut {
                    authenticator_vno: 5,
                    crealm,
                    cname,
                    cksum: cksum.clone(),
                    cusec,
                    ctime,
                    subkey,
                    seq_number,
                },
                &Authenticator {
                    authenticator_vno: Integer::from(5),
                    crealm: kstring(client.realm()).unwrap(),
                    cname: principal_name(&client).unwrap(),
                    cksum,
                    cusec: Integer::from(cusec),
                    ctime: kerberos_time(ctime),
                    subkey: subkey.map(|_| rasn_key.clone()),
                    seq_number,
                    authorization_data: None,
                },
            );
            // KRB-ERROR: client name, e-text and e-data each absent or present.
            let (stime, susec, error_code) = (g.our_time(), g.u32() % 1_000_000, g.i32());
            let with_client = g.coin();
            let text = client.components()[0].as_str();
            let (e_text, e_data) = (g.coin().then_some(text), g.opt(Gen::bytes));
            same_as(
                &KrbErrorOut {
                    pvno: 5,
                    msg_type: 30,
                    stime,
                    susec,
                    error_code,
                    crealm: with_client.then_some(crealm),
                    cname: with_client.then_some(cname),
                    realm: srealm,
                    sname,
                    e_text: e_text.map(|t| Str::new(t).unwrap()),
                    e_data: e_data.as_deref(),
                },
                &KrbError {
                    pvno: Integer::from(5),
                    msg_type: Integer::from(30),
                    ctime: None,
                    cusec: None,
                    stime: kerberos_time(stime),
                    susec: Integer::from(susec),
                    error_code,
                    crealm: with_client.then(|| kstring(client.realm()).unwrap()),
                    cname: with_client.then(|| principal_name(&client).unwrap()),
                    realm: kstring(server.realm()).unwrap(),
                    sname: principal_name(&server).unwrap(),
                    e_text: e_text.map(|t| kstring(t).unwrap()),
                    e_data: e_data.clone().map(octets),
                },
            );
            // METHOD-DATA and ETYPE-INFO2: salts of any bytes (some outside GeneralString's
            // alphabet, refused by both), s2kparams absent or present.
            let (salt, s2kparams) = (g.bytes(), g.opt(Gen::bytes));
            assert_eq!(Str::bytes(&salt).is_some(), kstring_bytes(&salt).is_some());
            let entry = EtypeInfo2EntryOut {
                etype: g.i32(),
                salt: g.coin().then(|| Str::bytes(&salt)).flatten(),
                s2kparams: s2kparams.as_deref(),
            };
            let rasn_entry = EtypeInfo2Entry {
                etype: entry.etype,
                salt: entry.salt.map(|_| kstring_bytes(&salt).unwrap()),
                s2kparams: s2kparams.clone().map(octets),
            };
            same_as(&entry, &rasn_entry);
            same_as(&SeqOf([entry]), &vec![rasn_entry.clone()]);
            same_as(&SeqOf([entry, entry]), &vec![rasn_entry.clone(), rasn_entry]);
            let (t1, t2, v1) = (g.i32(), g.i32(), g.bytes());
            same_as(
                &SeqOf([PaDataOut { r#type: t1, value: &v1 }, PaDataOut { r#type: t2, value: &[] }]),
                &vec![
                    PaData { r#type: t1, value: octets(v1.clone()) },
                    PaData { r#type: t2, value: octets(Vec::new()) },
                ],
            );
            same_as(&SeqOf::<PaDataOut, 0>([]), &Vec::<PaData>::new());

            let ticket_der = encode(&ticket).unwrap();
            same_as(
                &ApReqOut {
                    pvno: 5,
                    msg_type: 14,
                    ap_options: f,
                    ticket: RawDer::one(&ticket_der, 0x61).unwrap(),
                    authenticator: rep_enc.clone(),
                },
                &ApReq {
                    pvno: Integer::from(5),
                    msg_type: Integer::from(14),
                    ap_options: ApOptions(f.to_bits()),
                    ticket: rasn_ticket,
                    authenticator: rep_enc,
                },
            );
        }
        // Both outcomes of the KerberosString check were exercised.
        assert!(names_refused > 0 && names_refused < ROUNDS, "{names_refused}");
        // Raw DER must be one TLV of the tag given.
        assert!(RawDer::one(&[0x61, 0x00, 0x00], 0x61).is_err());
        assert!(RawDer::one(&[0x62, 0x00], 0x61).is_err());
        assert!(RawDer::one(&[0x61, 0x01], 0x61).is_err());
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
