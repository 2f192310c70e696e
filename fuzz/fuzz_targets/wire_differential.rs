//! Fuzz target: the library's hand-written DER decoder against rasn's (the reference). Byte 0 picks the message type
//! (modulo the number of types below), the rest is the input. Both must refuse it, or both must give the same value;
//! a refusal must be `KTIX_ERR_MALFORMED`; an accepted value must re-encode, and the re-encoding decode to the same
//! value.
#![no_main]

use ktix::internals::wire::{
    self, ApRep, ApReq, AsRep, AsReq, Authenticator, AuthorizationData, Checksum, EncApRepPart, EncAsRepPart,
    EncKdcRepPart, EncKrbCredPart, EncTgsRepPart, EncTicketPart, EncryptedData, EncryptionKey, EtypeInfo2,
    EtypeInfo2Entry, HostAddress, HostAddresses, KdcRep, KdcReq, KdcReqBody, KerberosTime, KrbCred, KrbCredInfo,
    KrbError, LastReq, MethodData, PaData, PaEncTsEnc, PrincipalName, TgsRep, TgsReq, Ticket, TransitedEncoding,
};
use ktix::ErrorCode;
use libfuzzer_sys::fuzz_target;

fn check<T>(data: &[u8])
where
    T: wire::FromDer + wire::ToDer + rasn::Decode + PartialEq + std::fmt::Debug,
{
    match (wire::decode::<T>(data), rasn::der::decode::<T>(data)) {
        (Ok(ours), Ok(theirs)) => {
            assert_eq!(ours, theirs, "the library and rasn decode different values");
            let again = wire::encode(&ours).expect("a decoded value re-encodes");
            let back = wire::decode::<T>(&again).expect("the re-encoding decodes");
            assert_eq!(back, ours, "the re-encoding decodes to the same value");
        }
        (Err(e), Err(_)) => assert_eq!(e.code(), ErrorCode::KTIX_ERR_MALFORMED, "{e:?}"),
        (Ok(ours), Err(e)) => panic!("the library accepts what rasn refuses ({e}): {ours:?}"),
        (Err(e), Ok(theirs)) => panic!("the library refuses what rasn accepts ({e:?}): {theirs:?}"),
    }
}

/// The types, in the order byte 0 picks them (keep the order: the corpus depends on it).
const TYPES: &[fn(&[u8])] = &[
    check::<AsReq>,
    check::<TgsReq>,
    check::<AsRep>,
    check::<TgsRep>,
    check::<ApReq>,
    check::<ApRep>,
    check::<KrbError>,
    check::<Ticket>,
    check::<EncTicketPart>,
    check::<Authenticator>,
    check::<EncAsRepPart>,
    check::<EncTgsRepPart>,
    check::<EncApRepPart>,
    check::<PaEncTsEnc>,
    check::<EncryptedData>,
    check::<PrincipalName>,
    check::<Checksum>,
    check::<EncryptionKey>,
    check::<AuthorizationData>,
    check::<HostAddresses>,
    check::<MethodData>,
    check::<EtypeInfo2>,
    check::<KdcReqBody>,
    check::<KerberosTime>,
    check::<KrbCred>,
    check::<EncKrbCredPart>,
    check::<KrbCredInfo>,
    check::<LastReq>,
    check::<PaData>,
    check::<TransitedEncoding>,
    check::<KdcReq>,
    check::<KdcRep>,
    check::<EncKdcRepPart>,
    check::<HostAddress>,
    check::<EtypeInfo2Entry>,
    check_enc_ticket_part_direct,
    check_authenticator_direct,
    check_ap_req_direct,
    check_tgs_req_direct,
    check_as_req_direct,
    check_encrypted_data_direct,
];

/// `$name`: a decoding path straight into the library's types or borrowing from the input (the
/// EncTicketPart and Authenticator as the KDC and the acceptor open them, the AP-REQ as the TGS,
/// the acceptor, GSS and kpasswd read it, the AS-REQ and TGS-REQ as the KDC reads them, an
/// EncryptedData as it reads PA-ENC-TIMESTAMP) agrees with the
/// rasn-typed decoding and its conversions (`$agree`).
macro_rules! check_direct {
    ($name:ident, $agree:path) => {
        fn $name(data: &[u8]) {
            if let Err(why) = $agree(data) {
                panic!("{why}");
            }
        }
    };
}
check_direct!(check_enc_ticket_part_direct, wire::enc_ticket_part_paths_agree);
check_direct!(check_authenticator_direct, wire::authenticator_paths_agree);
check_direct!(check_ap_req_direct, wire::ap_req_paths_agree);
check_direct!(check_tgs_req_direct, wire::tgs_req_paths_agree);
check_direct!(check_as_req_direct, wire::as_req_paths_agree);
check_direct!(check_encrypted_data_direct, wire::encrypted_data_paths_agree);

fuzz_target!(|data: &[u8]| {
    if let Some((&pick, input)) = data.split_first() {
        TYPES[usize::from(pick) % TYPES.len()](input);
    }
});
