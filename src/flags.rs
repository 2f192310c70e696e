//! KerberosFlags (ticket flags, KDC options, AP options) as a 32-bit set.
//!
//! Bit 0 is the most significant bit of the first octet, as in RFC 4120 §5.2.8. The wire form is
//! always at least 32 bits long, as MIT requires; the conversion to and from it is the crate's
//! (`wire::FlagBits`), so that no codec type is part of this public API.

/// A set of KerberosFlags bits (0..31).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u32);

impl Flags {
    /// The empty set.
    pub const NONE: Flags = Flags(0);

    /// A set with the given bits.
    pub fn of(bits: &[u32]) -> Flags {
        bits.iter().fold(Flags::NONE, |f, &b| f.with(b))
    }

    /// Is `bit` set?
    pub fn has(self, bit: u32) -> bool {
        bit < 32 && self.0 & (0x8000_0000 >> bit) != 0
    }

    /// With `bit` set.
    pub fn with(self, bit: u32) -> Flags {
        if bit < 32 {
            Flags(self.0 | (0x8000_0000 >> bit))
        } else {
            self
        }
    }

    /// With `bit` cleared.
    pub fn without(self, bit: u32) -> Flags {
        if bit < 32 {
            Flags(self.0 & !(0x8000_0000 >> bit))
        } else {
            self
        }
    }

    /// Sets `bit` when `on`.
    pub fn with_if(self, bit: u32, on: bool) -> Flags {
        if on {
            self.with(bit)
        } else {
            self
        }
    }

    /// The names of the set bits, given a naming table.
    pub fn names(self, table: &[(u32, &'static str)]) -> Vec<&'static str> {
        table.iter().filter(|(b, _)| self.has(*b)).map(|(_, n)| *n).collect()
    }
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flags({:#010x})", self.0)
    }
}

/// Ticket flag bits (RFC 4120 §5.3, RFC 6806).
pub mod ticket_flags {
    /// FORWARDABLE.
    pub const FORWARDABLE: u32 = 1;
    /// FORWARDED.
    pub const FORWARDED: u32 = 2;
    /// PROXIABLE.
    pub const PROXIABLE: u32 = 3;
    /// PROXY.
    pub const PROXY: u32 = 4;
    /// MAY-POSTDATE.
    pub const MAY_POSTDATE: u32 = 5;
    /// POSTDATED.
    pub const POSTDATED: u32 = 6;
    /// INVALID.
    pub const INVALID: u32 = 7;
    /// RENEWABLE.
    pub const RENEWABLE: u32 = 8;
    /// INITIAL.
    pub const INITIAL: u32 = 9;
    /// PRE-AUTHENT.
    pub const PRE_AUTHENT: u32 = 10;
    /// HW-AUTHENT.
    pub const HW_AUTHENT: u32 = 11;
    /// TRANSITED-POLICY-CHECKED.
    pub const TRANSITED_POLICY_CHECKED: u32 = 12;
    /// OK-AS-DELEGATE.
    pub const OK_AS_DELEGATE: u32 = 13;
    /// ENC-PA-REP (RFC 6806 §11).
    pub const ENC_PA_REP: u32 = 15;
    /// ANONYMOUS.
    pub const ANONYMOUS: u32 = 16;

    /// Names as MIT's `klist -f` prints them (letter, bit).
    pub const KLIST_LETTERS: &[(u32, &str)] = &[
        (FORWARDABLE, "F"),
        (FORWARDED, "f"),
        (PROXIABLE, "P"),
        (PROXY, "p"),
        (MAY_POSTDATE, "D"),
        (POSTDATED, "d"),
        (INVALID, "i"),
        (RENEWABLE, "R"),
        (INITIAL, "I"),
        (PRE_AUTHENT, "A"),
        (HW_AUTHENT, "H"),
        (TRANSITED_POLICY_CHECKED, "T"),
        (OK_AS_DELEGATE, "O"),
        (ANONYMOUS, "a"),
    ];

    /// Long names.
    pub const NAMES: &[(u32, &str)] = &[
        (FORWARDABLE, "forwardable"),
        (FORWARDED, "forwarded"),
        (PROXIABLE, "proxiable"),
        (PROXY, "proxy"),
        (MAY_POSTDATE, "may-postdate"),
        (POSTDATED, "postdated"),
        (INVALID, "invalid"),
        (RENEWABLE, "renewable"),
        (INITIAL, "initial"),
        (PRE_AUTHENT, "pre-authent"),
        (HW_AUTHENT, "hw-authent"),
        (TRANSITED_POLICY_CHECKED, "transited-policy-checked"),
        (OK_AS_DELEGATE, "ok-as-delegate"),
        (ENC_PA_REP, "enc-pa-rep"),
        (ANONYMOUS, "anonymous"),
    ];
}

/// KDC option bits (RFC 4120 §5.4.1).
pub mod kdc_options {
    /// FORWARDABLE.
    pub const FORWARDABLE: u32 = 1;
    /// FORWARDED.
    pub const FORWARDED: u32 = 2;
    /// PROXIABLE.
    pub const PROXIABLE: u32 = 3;
    /// PROXY.
    pub const PROXY: u32 = 4;
    /// ALLOW-POSTDATE.
    pub const ALLOW_POSTDATE: u32 = 5;
    /// POSTDATED.
    pub const POSTDATED: u32 = 6;
    /// RENEWABLE.
    pub const RENEWABLE: u32 = 8;
    /// CANONICALIZE (RFC 6806).
    pub const CANONICALIZE: u32 = 15;
    /// DISABLE-TRANSITED-CHECK.
    pub const DISABLE_TRANSITED_CHECK: u32 = 26;
    /// RENEWABLE-OK.
    pub const RENEWABLE_OK: u32 = 27;
    /// ENC-TKT-IN-SKEY.
    pub const ENC_TKT_IN_SKEY: u32 = 28;
    /// RENEW.
    pub const RENEW: u32 = 30;
    /// VALIDATE.
    pub const VALIDATE: u32 = 31;
}

/// AP option bits (RFC 4120 §5.5.1).
pub mod ap_options {
    /// USE-SESSION-KEY.
    pub const USE_SESSION_KEY: u32 = 1;
    /// MUTUAL-REQUIRED.
    pub const MUTUAL_REQUIRED: u32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FlagBits;

    #[test]
    fn bit_numbering() {
        let f = Flags::of(&[ticket_flags::FORWARDABLE, ticket_flags::RENEWABLE, ticket_flags::INITIAL]);
        assert_eq!(f.0, 0x40e0_0000 & 0x40c0_0000 | 0x0040_0000 | 0x0080_0000);
        let bits = f.to_bits();
        assert_eq!(bits.len(), 32);
        assert_eq!(Flags::from_bits(&bits), f);
        assert!(f.has(ticket_flags::INITIAL) && !f.has(ticket_flags::PRE_AUTHENT));
        assert_eq!(f.names(ticket_flags::KLIST_LETTERS), ["F", "R", "I"]);
    }
}
