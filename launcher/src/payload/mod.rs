//! The payload format: the only code that reads or writes its bytes.
//!
//! ```text
//! [ launcher stub ][ blob 0 (zstd) ][ blob 1 (zstd) ] ... [ manifest (JSON) ][ trailer, 64 bytes ]
//!                  ^ payload start                         ^ payload start + payload_len - manifest_len
//!
//! trailer: manifest sha256 (32) | payload_len u64 LE | manifest_len u64 LE
//!          | format u32 LE | reserved u32 (0) | magic (8)
//! ```
//!
//! The trailer ends the payload, so a launcher finds it with one read, whatever
//! the size of the stub in front of it. Blob offsets in the manifest are relative
//! to the payload start, so the same payload can follow any stub.
//!
//! Where the payload ends depends on the executable format, so that signing
//! keeps it valid (one reader per placement, here):
//! - ELF (Linux) and anything else: at the end of the file (`strip` drops it;
//!   the launcher then says it carries no payload);
//! - Mach-O (macOS): at the end of a `__PYSEAL` segment before `__LINKEDIT`,
//!   covered by the code signature ([`macho`]);
//! - PE (Windows): where the Authenticode certificate table starts, or at the
//!   end of an unsigned file ([`pe`]).

pub mod macho;
pub mod pe;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::manifest::{Blob, Manifest, Source};

pub const MAGIC: [u8; 8] = *b"PYSEAL\x1a\x01";
pub const FORMAT: u32 = 1;
pub const TRAILER_LEN: u64 = 64;
/// Manifests are a few KB; anything near this is damage, not data.
const MAX_MANIFEST_LEN: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub manifest_sha256: [u8; 32],
    pub payload_len: u64,
    pub manifest_len: u64,
    pub format: u32,
}

impl Trailer {
    pub fn to_bytes(&self) -> [u8; TRAILER_LEN as usize] {
        let mut b = [0u8; TRAILER_LEN as usize];
        b[0..32].copy_from_slice(&self.manifest_sha256);
        b[32..40].copy_from_slice(&self.payload_len.to_le_bytes());
        b[40..48].copy_from_slice(&self.manifest_len.to_le_bytes());
        b[48..52].copy_from_slice(&self.format.to_le_bytes());
        b[56..64].copy_from_slice(&MAGIC);
        b
    }

    /// `None` when the bytes are not a pyseal trailer at all.
    pub fn from_bytes(b: &[u8; TRAILER_LEN as usize]) -> Option<Trailer> {
        if b[56..64] != MAGIC {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Some(Trailer {
            manifest_sha256: b[0..32].try_into().unwrap_or_default(),
            payload_len: u64_at(32),
            manifest_len: u64_at(40),
            format: u32::from_le_bytes(b[48..52].try_into().unwrap_or_default()),
        })
    }
}

/// An executable's payload, opened and checked.
pub struct Payload {
    pub path: PathBuf,
    file: File,
    /// Absolute file offset of the payload start (= size of the stub).
    pub start: u64,
    pub trailer: Trailer,
    pub manifest: Manifest,
    /// Hex sha256 of the manifest bytes: identifies the build.
    pub manifest_sha256: String,
}

fn damaged(path: &Path, what: &str) -> Error {
    Error::corrupt(format!("{} is damaged: {what}", path.display())).with_hint("download or build the executable again")
}

impl Payload {
    pub fn open(path: &Path) -> Result<Payload> {
        let file = File::open(path).ctx("open", path)?;
        let file_len = file.metadata().ctx("read", path)?.len();
        let end = payload_end(&file, file_len).ctx("read", path)?.ok_or_else(|| no_payload(path))?;
        if end < TRAILER_LEN || end > file_len {
            return Err(no_payload(path));
        }
        let mut raw = [0u8; TRAILER_LEN as usize];
        read_exact_at(&file, &mut raw, end - TRAILER_LEN).ctx("read", path)?;
        let trailer = Trailer::from_bytes(&raw).ok_or_else(|| no_payload(path))?;
        if trailer.format != FORMAT {
            return Err(Error::new(format!(
                "{} uses payload format {}, this launcher reads format {FORMAT}",
                path.display(),
                trailer.format
            ))
            .with_hint("rebuild the executable with a matching pyseal"));
        }
        let room = end - TRAILER_LEN;
        if trailer.payload_len > room
            || trailer.manifest_len > trailer.payload_len
            || trailer.manifest_len > MAX_MANIFEST_LEN
            || trailer.manifest_len == 0
        {
            return Err(damaged(path, "the payload is truncated or its trailer is corrupt"));
        }
        let start = room - trailer.payload_len;
        let mut manifest_bytes = vec![0u8; trailer.manifest_len as usize];
        read_exact_at(&file, &mut manifest_bytes, room - trailer.manifest_len).ctx("read", path)?;
        let digest: [u8; 32] = Sha256::digest(&manifest_bytes).into();
        if digest != trailer.manifest_sha256 {
            return Err(damaged(path, "the payload manifest does not match its checksum"));
        }
        let manifest = Manifest::from_json(&manifest_bytes).map_err(|e| damaged(path, &e.message))?;
        let blob_area = trailer.payload_len - trailer.manifest_len;
        for blob in &manifest.blobs {
            if let Source::Payload { offset, length } = blob.source
                && offset.checked_add(length).is_none_or(|end| end > blob_area)
            {
                return Err(damaged(path, &format!("blob {} lies outside the payload", blob.name)));
            }
        }
        Ok(Payload { path: path.to_path_buf(), file, start, trailer, manifest, manifest_sha256: hex(&digest) })
    }

    /// A short build id for cache paths (first 12 hex digits of the manifest hash).
    pub fn build_id(&self) -> &str {
        &self.manifest_sha256[..12]
    }

    /// The compressed bytes of an embedded blob (empty for a blob fetched by URL).
    pub fn blob_reader(&self, blob: &Blob) -> SectionReader<'_> {
        let (offset, length) = match blob.source {
            Source::Payload { offset, length } => (offset, length),
            Source::Url { .. } => (0, 0),
        };
        SectionReader { file: &self.file, pos: self.start + offset, end: self.start + offset + length }
    }
}

/// Where the payload ends in this file (just past its trailer), by the
/// executable's format; `None` for a Mach-O without a payload segment.
fn payload_end(file: &File, file_len: u64) -> io::Result<Option<u64>> {
    let mut head = vec![0u8; file_len.min(64 << 10) as usize];
    read_exact_at(file, &mut head, 0)?;
    if macho::is_macho(&head) {
        let need = macho::header_len(&head).unwrap_or(0);
        if need > head.len() && (need as u64) <= file_len {
            head = vec![0u8; need];
            read_exact_at(file, &mut head, 0)?;
        }
        // An unreadable Mach-O carries no payload pyseal can find.
        return Ok(macho::locate(&head).ok().flatten().map(|(offset, len)| offset + len));
    }
    if pe::is_pe(&head) {
        let Ok(Some(table)) = pe::certificate_table(&head) else { return Ok(Some(file_len)) };
        // A signer's alignment: up to 7 zero bytes between the payload and the table.
        let mut tail = [0u8; 8];
        let from = table.saturating_sub(8);
        read_exact_at(file, &mut tail[..(table - from) as usize], from)?;
        let zeros = tail[..(table - from) as usize].iter().rev().take_while(|&&b| b == 0).count().min(7);
        return Ok(Some(table - zeros as u64));
    }
    Ok(Some(file_len))
}

/// Whether the file carries a pyseal trailer at all (a bare stub does not).
pub fn has_trailer(path: &Path) -> bool {
    let Ok(file) = File::open(path) else { return false };
    let Ok(len) = file.metadata().map(|m| m.len()) else { return false };
    let Ok(Some(end)) = payload_end(&file, len) else { return false };
    let mut raw = [0u8; TRAILER_LEN as usize];
    end >= TRAILER_LEN
        && end <= len
        && read_exact_at(&file, &mut raw, end - TRAILER_LEN).is_ok()
        && Trailer::from_bytes(&raw).is_some()
}

fn no_payload(path: &Path) -> Error {
    Error::corrupt(format!(
        "{} carries no pyseal payload (it is truncated, damaged, stripped, appended to, or a bare launcher stub)",
        path.display()
    ))
    .with_hint("download or build the executable again; `strip` removes the payload and bytes added after it hide it")
}

/// Reads a byte range of a file with positioned reads, so several threads can
/// read different blobs of one executable at once.
pub struct SectionReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for SectionReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = (self.end - self.pos).min(buf.len() as u64) as usize;
        if left == 0 {
            return Ok(0);
        }
        let n = read_at(self.file, &mut buf[..left], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "executable shrank while reading"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset)? {
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ended early")),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(feature = "writer")]
pub use writer::write_executable;

#[cfg(feature = "writer")]
mod writer {
    use super::*;
    use std::io::Write;

    /// Writes `stub + blobs + manifest + trailer` to `out` (inside a Mach-O's
    /// `__PYSEAL` segment, then signed; after a PE padded to 8 bytes), atomically: the bytes go
    /// to a temp file beside it that is fsynced and renamed into place, so `out`
    /// either keeps its old content or has the whole new executable.
    ///
    /// `manifest.blobs[i]` describes `blob_files[i]`: a zstd frame to embed, whose
    /// payload offset and length this function fills in, or `None` for a blob
    /// fetched by URL, whose cache name (for wheels) it derives from the hash.
    pub fn write_executable(
        stub: &Path,
        manifest: &mut Manifest,
        blob_files: &[Option<PathBuf>],
        out: &Path,
    ) -> Result<()> {
        if manifest.blobs.len() != blob_files.len() {
            return Err(Error::new("internal: blob list and blob files differ in length"));
        }
        for blob in &mut manifest.blobs {
            if let (crate::manifest::BlobKind::Wheel, Source::Url { sha256, .. }) = (blob.kind, &blob.source) {
                blob.sha256 = crate::manifest::installed_wheel_id(sha256);
            }
        }
        manifest.validate()?;
        let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).ctx("create directory", dir)?;
        let file_name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{file_name}.pyseal-tmp-{}", std::process::id()));
        // A Mach-O's signature names the program: its file name, as a linker would.
        let name: String =
            file_name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
        let result = write_to(&tmp, stub, manifest, blob_files, &name)
            .and_then(|()| crate::cache::rename(&tmp, out).ctx("write", out));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn write_to(
        tmp: &Path,
        stub: &Path,
        manifest: &mut Manifest,
        blob_files: &[Option<PathBuf>],
        name: &str,
    ) -> Result<()> {
        // The manifest names each blob's place, so the layout is settled first.
        let mut frames: Vec<PathBuf> = Vec::new();
        let mut offset = 0u64;
        for (blob, path) in manifest.blobs.iter_mut().zip(blob_files) {
            let (Some(path), Source::Payload { .. }) = (path, &blob.source) else {
                if !matches!(blob.source, Source::Url { .. }) {
                    return Err(Error::new(format!("internal: blob {} has neither a file nor a URL", blob.name)));
                }
                continue;
            };
            let length = std::fs::metadata(path).ctx("read blob", path)?.len();
            blob.source = Source::Payload { offset, length };
            offset += length;
            frames.push(path.clone());
        }
        let manifest_bytes = manifest.to_json();
        let trailer = Trailer {
            manifest_sha256: Sha256::digest(&manifest_bytes).into(),
            payload_len: offset + manifest_bytes.len() as u64,
            manifest_len: manifest_bytes.len() as u64,
            format: FORMAT,
        };
        let payload_len = trailer.payload_len + TRAILER_LEN;
        let write_payload = |out: &mut dyn Write| -> Result<()> {
            for path in &frames {
                let expected = std::fs::metadata(path).ctx("read blob", path)?.len();
                let mut f = File::open(path).ctx("open blob", path)?;
                if io::copy(&mut f, out).ctx("write", tmp)? != expected {
                    return Err(Error::new(format!("{} changed while it was being written", path.display())));
                }
            }
            out.write_all(&manifest_bytes).ctx("write", tmp)?;
            out.write_all(&trailer.to_bytes()).ctx("write", tmp)
        };

        let stub_bytes = std::fs::read(stub).ctx("read launcher stub", stub)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .ctx("create", tmp)?;
        if macho::is_macho(&stub_bytes) {
            macho::embed(&stub_bytes, payload_len, name, &mut file, write_payload)?;
        } else {
            let mut out = io::BufWriter::with_capacity(1 << 20, &mut file);
            out.write_all(&stub_bytes).ctx("write", tmp)?;
            if pe::is_pe(&stub_bytes) {
                // A signer adds no alignment of its own after a file whose length is a multiple of 8.
                let pad = pe::padding(stub_bytes.len() as u64, payload_len);
                out.write_all(&vec![0u8; pad as usize]).ctx("write", tmp)?;
            }
            write_payload(&mut out)?;
            out.flush().ctx("write", tmp)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o755)).ctx("set permissions on", tmp)?;
        }
        file.sync_all().ctx("flush", tmp)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trips() {
        let t = Trailer { manifest_sha256: [7; 32], payload_len: 1234, manifest_len: 99, format: FORMAT };
        assert_eq!(Trailer::from_bytes(&t.to_bytes()), Some(t));
        let mut bytes = t.to_bytes();
        bytes[63] ^= 1;
        assert_eq!(Trailer::from_bytes(&bytes), None);
    }

    #[test]
    fn hex_digits() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
    }
}
