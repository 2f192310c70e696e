//! Fuzz target: the RFC 2743 §3.1 framing and the krb5 mechanism's context tokens —
//! `internals::gss::unframe` and `parse_krb5_token` on arbitrary bytes. What unframes must frame
//! back to the same bytes (the framing is strict DER); what parses as a krb5 token has a krb5
//! OID, and its body goes to the decoder its token id names. Errors are only
//! GSS_DEFECTIVE_TOKEN or GSS_BAD_MECH.
#![no_main]

use ktix::gss::oid;
use ktix::internals::gss;
use ktix::internals::wire::{self, ApRep, ApReq, KrbError};
use ktix::ErrorCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((mech, inner)) = gss::unframe(data) {
        assert_eq!(gss::frame(mech, inner), data, "re-framing gives the same bytes");
    }
    match gss::parse_krb5_token(data) {
        Ok((id, body)) => {
            let (mech, _) = gss::unframe(data).expect("a parsed krb5 token is framed");
            assert!(oid::is_krb5(mech));
            if mech == oid::KRB5 {
                assert_eq!(gss::krb5_token(id, body), data);
            }
            let [ap_req, ap_rep, krb_error, ..] = gss::TOKEN_IDS;
            if id == ap_req {
                let _ = wire::decode::<ApReq>(body);
            } else if id == ap_rep {
                let _ = wire::decode::<ApRep>(body);
            } else if id == krb_error {
                let _ = wire::decode::<KrbError>(body);
            }
        }
        Err(e) => assert!(
            matches!(e.code(), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN | ErrorCode::KTIX_ERR_GSS_BAD_MECH),
            "{e}"
        ),
    }
});
