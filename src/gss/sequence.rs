//! The receive-side sequence check of per-message tokens (RFC 2743 §1.2.3, RFC 4121 §4.2.6): 64-bit
//! sequence numbers, a 64-token replay window, gap and out-of-sequence detection — the scheme of
//! MIT's `g_seqstate`.
//!
//! The check runs only on tokens whose checksum verified; its result is supplementary
//! information (a GSS major status bit), not an error: the token's data is still returned.

use crate::error::ErrorCode;

/// How many sequence numbers behind the newest one are remembered for replay detection.
pub(crate) const WINDOW: u64 = 64;

/// The receive state of one direction of a context.
#[derive(Debug, Clone)]
pub(crate) struct SeqState {
    /// Report duplicates (`GSS_C_REPLAY_FLAG`).
    replay: bool,
    /// Report gaps and out-of-order tokens (`GSS_C_SEQUENCE_FLAG`).
    sequence: bool,
    /// The peer's initial sequence number; everything below is relative to it (mod 2^64).
    base: u64,
    /// The relative sequence number expected next.
    next: u64,
    /// Bit `i` set: relative number `next - 1 - i` was received.
    recvmap: u64,
}

impl SeqState {
    /// The state before the first token, whose number should be `initial`.
    pub(crate) fn new(initial: u64, replay: bool, sequence: bool) -> SeqState {
        SeqState { replay, sequence, base: initial, next: 0, recvmap: 0 }
    }

    /// Records a verified token's sequence number and says what is unusual about it, if
    /// anything the flags ask for: `KTIX_ERR_GSS_DUPLICATE_TOKEN` (seen before, REPLAY),
    /// `KTIX_ERR_GSS_OLD_TOKEN` (too far behind to tell, REPLAY), `KTIX_ERR_GSS_UNSEQ_TOKEN`
    /// (behind the newest, SEQUENCE), `KTIX_ERR_GSS_GAP_TOKEN` (ahead of the one expected,
    /// SEQUENCE). With neither flag nothing is checked.
    pub(crate) fn check(&mut self, seq: u64) -> Option<ErrorCode> {
        if !self.replay && !self.sequence {
            return None;
        }
        let rel = seq.wrapping_sub(self.base);
        if rel == self.next {
            self.recvmap = (self.recvmap << 1) | 1;
            self.next = self.next.wrapping_add(1);
            return None;
        }
        let ahead = rel.wrapping_sub(self.next);
        if ahead < 1 << 63 {
            // Later than expected: `ahead` tokens are missing.
            self.recvmap = if ahead < WINDOW - 1 { (self.recvmap << (ahead + 1)) | 1 } else { 1 };
            self.next = rel.wrapping_add(1);
            return self.sequence.then_some(ErrorCode::KTIX_ERR_GSS_GAP_TOKEN);
        }
        let behind = self.next.wrapping_sub(rel); // 1 = the newest one received
        if behind > WINDOW {
            // Outside the window: a replay cannot be ruled out (RFC 2743's OLD_TOKEN); without
            // replay detection it is simply out of sequence.
            return Some(if self.replay {
                ErrorCode::KTIX_ERR_GSS_OLD_TOKEN
            } else {
                ErrorCode::KTIX_ERR_GSS_UNSEQ_TOKEN
            });
        }
        let bit = 1u64 << (behind - 1);
        if self.replay && self.recvmap & bit != 0 {
            return Some(ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN);
        }
        self.recvmap |= bit;
        self.sequence.then_some(ErrorCode::KTIX_ERR_GSS_UNSEQ_TOKEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCode as C;

    const DUP: Option<C> = Some(C::KTIX_ERR_GSS_DUPLICATE_TOKEN);
    const OLD: Option<C> = Some(C::KTIX_ERR_GSS_OLD_TOKEN);
    const UNSEQ: Option<C> = Some(C::KTIX_ERR_GSS_UNSEQ_TOKEN);
    const GAP: Option<C> = Some(C::KTIX_ERR_GSS_GAP_TOKEN);

    #[test]
    fn in_order_is_clean() {
        let mut s = SeqState::new(1000, true, true);
        for n in 1000..1200 {
            assert_eq!(s.check(n), None, "{n}");
        }
    }

    #[test]
    fn replay_reorder_gap_old_with_both_flags() {
        let mut s = SeqState::new(5, true, true);
        assert_eq!(s.check(5), None);
        assert_eq!(s.check(5), DUP);
        assert_eq!(s.check(7), GAP); // 6 missing
        assert_eq!(s.check(6), UNSEQ); // late but new
        assert_eq!(s.check(6), DUP);
        assert_eq!(s.check(8), None);
        assert_eq!(s.check(8 + 100), GAP);
        assert_eq!(s.check(8 + 100 - 63), UNSEQ); // the oldest still in the window (64 numbers)
        assert_eq!(s.check(8 + 100 - 63), DUP);
        assert_eq!(s.check(8 + 100 - 64), OLD); // just outside
        assert_eq!(s.check(7), OLD);
        assert_eq!(s.check(109), None);
    }

    #[test]
    fn flags_select_the_checks() {
        let mut none = SeqState::new(0, false, false);
        for n in [0, 0, 5, 1, 1, 1000, 3] {
            assert_eq!(none.check(n), None);
        }
        // REPLAY only: duplicates and too-old tokens, no gap or order complaints.
        let mut r = SeqState::new(0, true, false);
        assert_eq!(r.check(0), None);
        assert_eq!(r.check(3), None);
        assert_eq!(r.check(1), None);
        assert_eq!(r.check(1), DUP);
        assert_eq!(r.check(200), None);
        assert_eq!(r.check(100), OLD);
        // SEQUENCE only: gaps and order, a repeat is just out of sequence.
        let mut q = SeqState::new(0, false, true);
        assert_eq!(q.check(0), None);
        assert_eq!(q.check(2), GAP);
        assert_eq!(q.check(1), UNSEQ);
        assert_eq!(q.check(1), UNSEQ);
        assert_eq!(q.check(200), GAP);
        assert_eq!(q.check(2), UNSEQ);
    }

    #[test]
    fn wraps_around_2_to_the_64() {
        let mut s = SeqState::new(u64::MAX - 1, true, true);
        assert_eq!(s.check(u64::MAX - 1), None);
        assert_eq!(s.check(u64::MAX), None);
        assert_eq!(s.check(0), None);
        assert_eq!(s.check(u64::MAX), DUP);
        assert_eq!(s.check(2), GAP);
        assert_eq!(s.check(1), UNSEQ);
        // A number "behind" the start is out of the window, not a huge gap.
        assert_eq!(s.check(u64::MAX - 200), OLD);
    }
}
