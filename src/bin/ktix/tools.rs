//! The client tools: `ktix kinit`, `klist`, `kvno`, `kdestroy` (being implemented).

use ktix::{Error, ErrorCode, Result};

use crate::{KdestroyArgs, KinitArgs, KlistArgs, KvnoArgs};

fn todo(what: &str) -> Result<()> {
    Err(Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("not implemented yet: {what}")))
}

/// `ktix kinit`.
pub fn kinit(_a: KinitArgs) -> Result<()> {
    todo("kinit")
}

/// `ktix klist`.
pub fn klist(_a: KlistArgs) -> Result<()> {
    todo("klist")
}

/// `ktix kvno`.
pub fn kvno(_a: KvnoArgs) -> Result<()> {
    todo("kvno")
}

/// `ktix kdestroy`.
pub fn kdestroy(_a: KdestroyArgs) -> Result<()> {
    todo("kdestroy")
}
