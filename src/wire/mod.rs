//! RFC 4120 messages (placeholder until the wire module lands).
