//! What a KDC request was: [`ExchangeKind`] and [`RequestFacts`] (exchange, client, service,
//! result code, session enctype), the one description of a request that the exchanges fill in,
//! [`Kdc::process`](super::Kdc::process) returns inside an [`Outcome`] and the server's
//! [`RequestLog`](super::RequestLog) carries. Names, codes and enctypes only, never secrets.

use crate::crypto::Enctype;
use crate::error::ErrorCode;
use crate::principal::Principal;
use crate::wire::{self, msg_type};

/// Which exchange a request was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeKind {
    /// AS exchange (initial tickets).
    As,
    /// TGS exchange (tickets from a TGT).
    Tgs,
    /// Not a KDC request at all.
    Unknown,
}

impl ExchangeKind {
    /// What a request is, by its APPLICATION tag.
    pub fn of(request: &[u8]) -> ExchangeKind {
        match wire::message_tag(request) {
            Some(msg_type::AS_REQ) => ExchangeKind::As,
            Some(msg_type::TGS_REQ) => ExchangeKind::Tgs,
            _ => ExchangeKind::Unknown,
        }
    }

    /// `"AS"`, `"TGS"` or `"?"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeKind::As => "AS",
            ExchangeKind::Tgs => "TGS",
            ExchangeKind::Unknown => "?",
        }
    }
}

/// What the KDC made of one request, for logging: names, codes and enctypes, never secrets.
#[derive(Clone, Debug)]
pub struct RequestFacts {
    /// AS or TGS.
    pub kind: ExchangeKind,
    /// The client, when known.
    pub client: Option<Principal>,
    /// The service asked for, when known.
    pub service: Option<Principal>,
    /// `KDC_ERR_NONE` for a ticket, otherwise the KRB-ERROR code sent.
    pub code: ErrorCode,
    /// The error text, for failures.
    pub detail: Option<String>,
    /// The enctype of the issued session key.
    pub session_enctype: Option<Enctype>,
    /// The e-data a failure's KRB-ERROR carries (METHOD-DATA when pre-authentication is
    /// required), set by the exchange; taken out when the reply is built, never logged.
    pub(crate) e_data: Option<Vec<u8>>,
}

impl RequestFacts {
    /// The facts of a `kind` request before anything about it is known (the exchange fills in
    /// names and the session enctype as it learns them; the code is `KDC_ERR_NONE` until a
    /// failure sets it).
    pub(crate) fn new(kind: ExchangeKind) -> RequestFacts {
        RequestFacts {
            kind,
            client: None,
            service: None,
            code: ErrorCode::KDC_ERR_NONE,
            detail: None,
            session_enctype: None,
            e_data: None,
        }
    }

    /// The facts of a request answered with `code` before anything about it was known.
    pub fn failure(kind: ExchangeKind, code: ErrorCode, detail: &str) -> RequestFacts {
        RequestFacts { code, detail: Some(detail.to_string()), ..RequestFacts::new(kind) }
    }
}

/// What the KDC did with one request: the reply, and the facts a log line needs.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The reply to send.
    pub reply: Vec<u8>,
    /// What happened.
    pub facts: RequestFacts,
}
