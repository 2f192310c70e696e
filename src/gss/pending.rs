//! TEMPORARY stand-in, with the contract's signatures, for the gss1 branch's `spnego.rs`
//! (written at the same time): this file goes when that is merged. SPNEGO answers
//! `KTIX_ERR_GSS_UNAVAILABLE` until then.
#![allow(dead_code)]

pub(crate) mod spnego {
    use crate::error::{Error, ErrorCode, Result};

    pub(crate) trait NegotiatedMech {
        fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>>;
        fn is_complete(&self) -> bool;
        fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>>;
        fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()>;
    }

    fn unavailable() -> Error {
        Error::new(ErrorCode::KTIX_ERR_GSS_UNAVAILABLE, "SPNEGO: pending merge of gss1")
    }

    pub(crate) struct SpnegoInitiator<M: NegotiatedMech> {
        inner: M,
    }
    impl<M: NegotiatedMech> SpnegoInitiator<M> {
        pub(crate) fn new(inner: M) -> Self {
            SpnegoInitiator { inner }
        }
        pub(crate) fn step(&mut self, _input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
            Err(unavailable())
        }
        pub(crate) fn is_complete(&self) -> bool {
            false
        }
        pub(crate) fn inner(&self) -> &M {
            &self.inner
        }
        pub(crate) fn inner_mut(&mut self) -> &mut M {
            &mut self.inner
        }
    }

    pub(crate) struct SpnegoAcceptor<M: NegotiatedMech> {
        inner: M,
    }
    impl<M: NegotiatedMech> SpnegoAcceptor<M> {
        pub(crate) fn new(inner: M) -> Self {
            SpnegoAcceptor { inner }
        }
        pub(crate) fn step(&mut self, _input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
            Err(unavailable())
        }
        pub(crate) fn is_complete(&self) -> bool {
            false
        }
        pub(crate) fn inner(&self) -> &M {
            &self.inner
        }
        pub(crate) fn inner_mut(&mut self) -> &mut M {
            &mut self.inner
        }
    }

    pub(crate) fn is_spnego_token(token: &[u8]) -> bool {
        matches!(crate::gss::token::unframe(token), Ok((m, _)) if m == crate::gss::oid::SPNEGO)
            || token.first() == Some(&0xa1)
    }
}
