//! The payload inside a PE executable (Windows), where Authenticode covers it.
//!
//! The payload is an overlay: bytes after the last section, which the
//! Authenticode hash includes. A signature is appended after everything else,
//! so the payload does not end the file once signed: its end is found through
//! the security directory (`DataDirectory[4]`, a file offset), never by
//! scanning back from the end. Signers align the certificate table to 8 bytes
//! with up to 7 zero bytes before it, so the writer makes unsigned files a
//! multiple of 8 long, and the reader steps back over such zeros.

use crate::error::{Error, Result};

/// Whether the bytes start a DOS/PE executable.
pub fn is_pe(head: &[u8]) -> bool {
    head.starts_with(b"MZ")
}

fn bad(what: &str) -> Error {
    Error::corrupt(format!("not a PE executable pyseal can read: {what}"))
}

/// Where the certificate table starts, if the file is signed: `headers` holds
/// the file's first bytes (DOS header, PE header and optional header).
pub fn certificate_table(headers: &[u8]) -> Result<Option<u64>> {
    let u16_at = |at: usize| headers.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |at: usize| headers.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let pe = u32_at(0x3c).ok_or_else(|| bad("truncated DOS header"))? as usize;
    if headers.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err(bad("no PE signature"));
    }
    let optional = pe + 24;
    // The data directories follow the optional header's fixed part, whose size differs for PE32 and PE32+.
    let directories = match u16_at(optional).ok_or_else(|| bad("truncated optional header"))? {
        0x20b => optional + 112,
        0x10b => optional + 96,
        _ => return Err(bad("unknown optional header")),
    };
    let count = u32_at(directories - 4).ok_or_else(|| bad("truncated optional header"))?;
    if count <= 4 {
        return Ok(None);
    }
    let offset = u32_at(directories + 4 * 8).ok_or_else(|| bad("truncated data directories"))?;
    let size = u32_at(directories + 4 * 8 + 4).ok_or_else(|| bad("truncated data directories"))?;
    Ok((offset != 0 && size != 0).then_some(offset as u64))
}

/// How many leading bytes `certificate_table` needs.
pub const HEADERS_LEN: usize = 4096;

/// The zero bytes a writer adds after a payload of `len` bytes that starts
/// at `start`, so the file ends on a multiple of 8 and a signer adds none.
pub fn padding(start: u64, len: u64) -> u64 {
    (8 - (start + len) % 8) % 8
}
