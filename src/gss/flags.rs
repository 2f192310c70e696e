//! The context flags of RFC 2744 §3.14 (`GSS_C_*_FLAG`), as the C API numbers them.

use std::fmt;

/// A set of GSS-API context flags (the bits of RFC 2744's `ret_flags` / `req_flags`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContextFlags(pub u32);

impl ContextFlags {
    /// No flags.
    pub const NONE: ContextFlags = ContextFlags(0);
    /// Credential delegation (`GSS_C_DELEG_FLAG`).
    pub const DELEG: ContextFlags = ContextFlags(1);
    /// Mutual authentication (`GSS_C_MUTUAL_FLAG`).
    pub const MUTUAL: ContextFlags = ContextFlags(2);
    /// Replay detection for per-message tokens (`GSS_C_REPLAY_FLAG`).
    pub const REPLAY: ContextFlags = ContextFlags(4);
    /// Out-of-sequence detection for per-message tokens (`GSS_C_SEQUENCE_FLAG`).
    pub const SEQUENCE: ContextFlags = ContextFlags(8);
    /// Confidentiality available (`GSS_C_CONF_FLAG`).
    pub const CONF: ContextFlags = ContextFlags(16);
    /// Integrity available (`GSS_C_INTEG_FLAG`).
    pub const INTEG: ContextFlags = ContextFlags(32);
    /// Anonymous initiator (`GSS_C_ANON_FLAG`); never set by this mechanism.
    pub const ANON: ContextFlags = ContextFlags(64);
    /// Per-message protection available before the context is complete (`GSS_C_PROT_READY_FLAG`).
    pub const PROT_READY: ContextFlags = ContextFlags(128);
    /// The context can be exported (`GSS_C_TRANS_FLAG`).
    pub const TRANS: ContextFlags = ContextFlags(256);
    /// The channel bindings were checked and matched (`GSS_C_CHANNEL_BOUND_FLAG`, 0x800).
    pub const CHANNEL_BOUND: ContextFlags = ContextFlags(0x800);

    /// Every flag set in `other` is set in `self`.
    pub fn contains(self, other: ContextFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the flags of `other` added.
    pub fn with(self, other: ContextFlags) -> ContextFlags {
        ContextFlags(self.0 | other.0)
    }

    /// `self` with the flags of `other` added when `on`.
    pub fn with_if(self, other: ContextFlags, on: bool) -> ContextFlags {
        if on {
            self.with(other)
        } else {
            self
        }
    }

    /// `self` without the flags of `other`.
    pub fn without(self, other: ContextFlags) -> ContextFlags {
        ContextFlags(self.0 & !other.0)
    }

    /// The flags set in both.
    pub fn intersect(self, other: ContextFlags) -> ContextFlags {
        ContextFlags(self.0 & other.0)
    }
}

const NAMES: [(ContextFlags, &str); 10] = [
    (ContextFlags::DELEG, "deleg"),
    (ContextFlags::MUTUAL, "mutual"),
    (ContextFlags::REPLAY, "replay"),
    (ContextFlags::SEQUENCE, "sequence"),
    (ContextFlags::CONF, "conf"),
    (ContextFlags::INTEG, "integ"),
    (ContextFlags::ANON, "anon"),
    (ContextFlags::PROT_READY, "prot_ready"),
    (ContextFlags::TRANS, "trans"),
    (ContextFlags::CHANNEL_BOUND, "channel_bound"),
];

impl fmt::Debug for ContextFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = NAMES.iter().filter(|(b, _)| self.contains(*b)).map(|(_, n)| *n).collect();
        write!(f, "ContextFlags({:#x}: {})", self.0, names.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::ContextFlags as F;

    #[test]
    fn set_operations() {
        let f = F::MUTUAL.with(F::CONF).with_if(F::DELEG, false);
        assert!(f.contains(F::MUTUAL) && f.contains(F::CONF) && !f.contains(F::DELEG));
        assert_eq!(f.without(F::CONF), F::MUTUAL);
        assert_eq!(f.intersect(F::CONF.with(F::INTEG)), F::CONF);
        assert_eq!(f.0, 18);
        assert_eq!(format!("{f:?}"), "ContextFlags(0x12: mutual|conf)");
    }
}
