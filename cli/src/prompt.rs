//! Reading passwords: from the terminal without echo, or a line from stdin when it is not a terminal.

use std::io::{BufRead, IsTerminal};

use zeroize::Zeroizing;

use ktix::{Error, ErrorCode, Result};

/// Reads a password after showing `prompt` (on a terminal) or one line of stdin (otherwise).
pub fn read_password(prompt: &str) -> Result<Zeroizing<String>> {
    if std::io::stdin().is_terminal() {
        let pw = rpassword::prompt_password(prompt).map_err(|e| Error::io("terminal", e))?;
        return Ok(Zeroizing::new(pw));
    }
    let mut line = Zeroizing::new(String::new());
    let n = std::io::stdin().lock().read_line(&mut line).map_err(|e| Error::io("stdin", e))?;
    if n == 0 {
        return Err(Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, "no password on stdin"));
    }
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}
