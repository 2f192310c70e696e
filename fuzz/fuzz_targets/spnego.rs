//! Fuzz target: SPNEGO (RFC 4178). The bytes are decoded as one NegotiationToken (what decodes
//! must re-encode to the same value), then split into consecutive DER elements (at most four)
//! that are fed as a conversation to a SPNEGO acceptor and to a SPNEGO initiator, both over a
//! stand-in mechanism (`internals::gss::spnego_drive`). Errors are only the GSS codes the
//! negotiation can give, and a side that says it is complete has a complete mechanism.
#![no_main]

use ktix::internals::{gss, wire};
use ktix::ErrorCode as C;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match gss::spnego_round_trip(data) {
        Ok(same) => assert!(same, "the re-encoding decodes to the same NegotiationToken"),
        Err(e) => assert!(matches!(e.code(), C::KTIX_ERR_GSS_DEFECTIVE_TOKEN | C::KTIX_ERR_GSS_BAD_MECH), "{e}"),
    }
    let _ = gss::is_spnego_token(data);
    let mut tokens: Vec<&[u8]> = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && tokens.len() < 4 {
        match wire::tlv(rest, 0) {
            Ok(t) => {
                tokens.push(&rest[..t.end()]);
                rest = &rest[t.end()..];
            }
            Err(_) => {
                tokens.push(rest);
                break;
            }
        }
    }
    for (err, _complete) in gss::spnego_drive(&tokens) {
        if let Some(c) = err {
            assert!(
                matches!(
                    c,
                    C::KTIX_ERR_GSS_DEFECTIVE_TOKEN
                        | C::KTIX_ERR_GSS_BAD_MECH
                        | C::KTIX_ERR_GSS_BAD_MIC
                        | C::KTIX_ERR_GSS_NO_CONTEXT
                ),
                "{c:?}"
            );
        }
    }
});
