//! Making blobs at build time: a blob's content is a tar stream, its name the
//! sha256 of that stream, its bytes in the payload one zstd frame of it.
//!
//! Hashing and compressing are separate calls so the build tool can look the
//! hash up in its blob cache and skip compression when it already has the frame.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::archive::{self, tar_tree};
use crate::error::{Error, IoContext, Result};
use crate::payload::hex;

/// Where a blob's tar stream comes from.
pub enum Source {
    /// A directory, packed deterministically; `mtime` overrides file times.
    Tree { dir: PathBuf, mtime: Option<u64> },
    /// A tar archive (plain, .gz or .zst) used verbatim, decompressed.
    Archive(PathBuf),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Tree { dir, .. } => dir.display().to_string(),
            Source::Archive(p) => p.display().to_string(),
        }
    }

    /// Streams the blob's content into `out`.
    fn stream_into<W: Write>(&self, out: W) -> Result<W> {
        match self {
            Source::Tree { dir, mtime } => tar_tree(dir, out, *mtime),
            Source::Archive(path) => {
                let what = path.display().to_string();
                let file = File::open(path).ctx("open", path)?;
                let mut reader = archive::decompress(BufReader::with_capacity(1 << 20, file), &what)?;
                let mut out = out;
                io::copy(&mut reader, &mut out)
                    .map_err(|e| Error::corrupt(format!("cannot read {what}: {}", crate::error::describe_io(&e))))?;
                Ok(out)
            }
        }
    }
}

/// Hashes and counts everything written through it, then passes it on.
struct Tee<'a, W> {
    inner: W,
    hasher: Sha256,
    count: u64,
    progress: Option<&'a AtomicU64>,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if let Some(p) = self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The blob's name (hex sha256 of its tar stream) and uncompressed size.
pub fn hash(source: &Source) -> Result<(String, u64)> {
    let tee = source.stream_into(Tee { inner: io::sink(), hasher: Sha256::new(), count: 0, progress: None })?;
    Ok((hex(&tee.hasher.finalize()), tee.count))
}

/// Compresses the blob into `out` (temp file, then rename) and returns the
/// compressed size. Fails if the content no longer hashes to `expected_sha256`,
/// so a tree changed between the two calls never ships under a stale name.
pub fn compress(source: &Source, level: i32, expected_sha256: &str, out: &Path, progress: &AtomicU64) -> Result<u64> {
    let dir = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).ctx("create directory", dir)?;
    // `.tmp-<pid>-<name>`: the build tool clears such debris once <pid> is gone.
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let result = compress_to(source, level, expected_sha256, &tmp, progress).and_then(|size| {
        std::fs::rename(&tmp, out).ctx("write", out)?;
        Ok(size)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn compress_to(source: &Source, level: i32, expected: &str, tmp: &Path, progress: &AtomicU64) -> Result<u64> {
    let file = File::create(tmp).ctx("create", tmp)?;
    let zstd_err = |e: io::Error| Error::new(format!("zstd failed on {}: {e}", source.describe()));
    let mut encoder =
        zstd::stream::write::Encoder::new(io::BufWriter::with_capacity(1 << 20, file), level).map_err(zstd_err)?;
    encoder.include_checksum(true).map_err(zstd_err)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    if threads > 1 {
        encoder.multithread(threads).map_err(zstd_err)?;
    }
    let tee = source.stream_into(Tee { inner: encoder, hasher: Sha256::new(), count: 0, progress: Some(progress) })?;
    let actual = hex(&tee.hasher.finalize());
    let writer = tee.inner.finish().map_err(zstd_err)?;
    let file = writer.into_inner().map_err(|e| Error::io("write", tmp, e.into_error()))?;
    file.sync_all().ctx("flush", tmp)?;
    if actual != expected {
        return Err(Error::new(format!("{} changed while it was being packed", source.describe()))
            .with_hint("run the build again once nothing else writes to it"));
    }
    Ok(file.metadata().ctx("read", tmp)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_frame_unpacks_to_the_hashed_tree() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("site-packages/pkg")).unwrap();
        std::fs::write(src.join("site-packages/pkg/__init__.py"), "print('x')\n".repeat(100)).unwrap();
        let source = Source::Tree { dir: src.clone(), mtime: Some(315532800) };
        let (sha, size) = hash(&source).unwrap();
        let out = t.path().join("blob.zst");
        let progress = AtomicU64::new(0);
        let compressed = compress(&source, 3, &sha, &out, &progress).unwrap();
        assert!(compressed < size);
        assert_eq!(progress.load(Ordering::Relaxed), size);
        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let (got, got_size) =
            archive::extract_archive_file(&out, &dest, archive::ExtractOptions { read_only: false }).unwrap();
        assert_eq!((hex(&got), got_size), (sha.clone(), size));
        assert!(compress(&source, 3, &"0".repeat(64), &t.path().join("other.zst"), &progress).is_err());
        assert!(!t.path().join("other.zst").exists());
    }
}
