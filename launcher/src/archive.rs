//! Tar streams: the one extractor used for blobs and distribution archives, and
//! (with the `writer` feature) the deterministic packer that makes blobs.
//!
//! Extraction is strict, because archives come from outside: every path must stay
//! inside the destination, symlinks may not point out of it or be written through,
//! and devices, FIFOs and duplicate files are refused. It hashes every byte of the
//! stream, so a blob is verified by the same pass that unpacks it.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};

/// Reads through, hashing and counting every byte.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), count: 0 }
    }

    /// Reads the rest of the stream and returns (sha256, total bytes).
    pub fn finish(mut self) -> io::Result<([u8; 32], u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hasher.finalize().into(), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ExtractOptions {
    /// Strip write permission from files (shared cache trees never change).
    pub read_only: bool,
}

/// Which decompressor a stream needs, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Zstd,
    Gzip,
    None,
}

pub fn sniff(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else {
        Compression::None
    }
}

/// Wraps `reader` in the decompressor its first bytes call for.
pub fn decompress<'a, R: Read + Send + 'a>(mut reader: R, what: &str) -> Result<Box<dyn Read + Send + 'a>> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match reader.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::new(format!("cannot read {what}: {}", crate::error::describe_io(&e)))),
        }
    }
    let whole = io::Cursor::new(magic[..got].to_vec()).chain(reader);
    Ok(match sniff(&magic[..got]) {
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(whole)
                .map_err(|e| Error::new(format!("cannot start zstd for {what}: {e}")))?;
            d.window_log_max(31).map_err(|e| Error::new(format!("cannot configure zstd for {what}: {e}")))?;
            Box::new(d)
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        #[cfg(not(feature = "gzip"))]
        Compression::Gzip => {
            return Err(Error::new(format!("{what} is gzip-compressed, which this launcher cannot read")));
        }
        Compression::None => Box::new(whole),
    })
}

/// Extracts the tar stream `source` (already decompressed) into the empty
/// directory `dest` and returns the sha256 and length of the whole stream.
///
/// Decompression and hashing run on a second thread while this one writes files,
/// like `tar -I zstd` does with two processes.
pub fn extract_tar(source: impl Read + Send, dest: &Path, what: &str, opts: ExtractOptions) -> Result<([u8; 32], u64)> {
    const CHUNK: usize = 256 << 10;
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(16);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> io::Result<([u8; 32], u64)> {
            let mut hashing = HashingReader::new(source);
            loop {
                let mut chunk = vec![0u8; CHUNK];
                let mut filled = 0;
                while filled < CHUNK {
                    match hashing.read(&mut chunk[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if filled == 0 {
                    return hashing.finish();
                }
                chunk.truncate(filled);
                if tx.send(chunk).is_err() {
                    // The writer gave up; its error is the one to report.
                    return Err(io::Error::other("extraction stopped"));
                }
            }
        });
        let mut channel = ChannelReader { rx, current: Vec::new(), pos: 0 };
        let unpacked = unpack_entries(&mut channel, dest, what, opts);
        if unpacked.is_ok() {
            // Let the producer hash the tail (tar padding) before it finishes.
            let _ = io::copy(&mut channel, &mut io::sink());
        }
        drop(channel);
        let produced = producer.join().unwrap_or_else(|_| Err(io::Error::other("decompression thread failed")));
        unpacked?;
        produced.map_err(|e| stream_error(what, &e))
    })
}

fn stream_error(what: &str, e: &io::Error) -> Error {
    Error::corrupt(format!("{what} is damaged: {}", describe_stream_error(e)))
}

/// One short line for a failed read of an archive stream. The tar crate's own
/// messages can quote raw header bytes, which must not reach a terminal.
fn describe_stream_error(e: &io::Error) -> String {
    let text = crate::error::describe_io(e);
    if e.kind() == io::ErrorKind::UnexpectedEof || text.contains("unexpected EOF") || text.contains("unexpected end") {
        return "it ends early (truncated?)".into();
    }
    if text.contains("numeric field") || text.contains("cksum") || text.contains("checksum mismatch") {
        return "a tar header is invalid (corrupt, or not a tar archive)".into();
    }
    let line: String = text.lines().next().unwrap_or("").chars().filter(|c| !c.is_control()).take(160).collect();
    if line.is_empty() { "unreadable data".into() } else { line }
}

struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A relative path made of normal components only, or `None` if it tries to escape.
pub fn clean_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Whether a symlink at `link` (relative to the root) pointing to `target` stays inside the root.
pub fn symlink_stays_inside(link: &Path, target: &Path) -> bool {
    let mut depth: i64 = link.components().count() as i64 - 1;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Whether resolving `target` from `link`'s directory steps through another
/// symlink of the archive. `symlink_stays_inside` counts the target's
/// components as if each were a real directory; one that is a link can lead
/// anywhere (`up -> ../../..`, then `esc -> a/up/../x`), so such targets are
/// refused. A link to a link (the last component) is a chain of links that
/// are each checked, and stays inside.
pub fn passes_through_link(link: &Path, target: &Path, links: &HashSet<&PathBuf>) -> bool {
    let mut at: PathBuf = link.parent().map(Path::to_path_buf).unwrap_or_default();
    let parts: Vec<Component> = target.components().collect();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Component::Normal(name) => {
                at.push(name);
                if i + 1 < parts.len() && links.contains(&at) {
                    return true;
                }
            }
            Component::ParentDir => {
                if !at.pop() {
                    return true;
                }
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

fn unpack_entries(reader: impl Read, dest: &Path, what: &str, opts: ExtractOptions) -> Result<()> {
    let bad = |msg: String| Error::corrupt(format!("{what}: {msg}"));
    let mut archive = tar::Archive::new(BufReader::with_capacity(256 << 10, reader));
    let mut made_dirs: HashSet<PathBuf> = HashSet::new();
    let mut files: HashSet<PathBuf> = HashSet::new();
    let mut symlinks: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut hardlinks: Vec<(PathBuf, PathBuf)> = Vec::new();
    let entries = archive.entries().map_err(|e| stream_error(what, &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| stream_error(what, &e))?;
        let raw_path = entry.path().map_err(|e| stream_error(what, &e))?.into_owned();
        let rel = clean_relative(&raw_path)
            .ok_or_else(|| bad(format!("entry {} escapes the destination", raw_path.display())))?;
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(bad(format!("entry {:?} has no name", raw_path.display())));
        }
        let target = dest.join(&rel);
        match kind {
            tar::EntryType::Directory => {
                ensure_dirs(dest, &rel, &mut made_dirs)?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if !files.insert(rel.clone()) {
                    return Err(bad(format!("entry {} appears twice", rel.display())));
                }
                if let Some(parent) = rel.parent() {
                    ensure_dirs(dest, parent, &mut made_dirs)?;
                }
                let mode = entry.header().mode().unwrap_or(0o644);
                let mtime = entry.header().mtime().unwrap_or(0);
                write_file(&mut entry, &target, mode, mtime, opts).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData | io::ErrorKind::Other => {
                        stream_error(what, &e)
                    }
                    _ => Error::io("write", &target, e),
                })?;
            }
            tar::EntryType::Symlink => {
                let link = entry.link_name().map_err(|e| stream_error(what, &e))?.unwrap_or_default().into_owned();
                if link.as_os_str().is_empty() || !symlink_stays_inside(&rel, &link) {
                    return Err(bad(format!(
                        "symlink {} -> {} points outside the destination",
                        rel.display(),
                        link.display()
                    )));
                }
                if !files.insert(rel.clone()) {
                    return Err(bad(format!("entry {} appears twice", rel.display())));
                }
                symlinks.push((rel, link));
            }
            tar::EntryType::Link => {
                let link = entry.link_name().map_err(|e| stream_error(what, &e))?.unwrap_or_default().into_owned();
                let source = clean_relative(&link).filter(|p| !p.as_os_str().is_empty()).ok_or_else(|| {
                    bad(format!("hard link {} -> {} points outside the destination", rel.display(), link.display()))
                })?;
                if !files.insert(rel.clone()) {
                    return Err(bad(format!("entry {} appears twice", rel.display())));
                }
                hardlinks.push((rel, source));
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            other => {
                return Err(bad(format!("entry {} has unsupported type {other:?}", rel.display())));
            }
        }
    }
    // Links last: no file is ever written through a symlink made from the archive.
    let symlink_paths: HashSet<&PathBuf> = symlinks.iter().map(|(p, _)| p).collect();
    for (rel, source) in &hardlinks {
        if symlink_paths.iter().any(|s| source.starts_with(s)) || !files.contains(source) {
            return Err(bad(format!(
                "hard link {} -> {} does not name a file of the archive",
                rel.display(),
                source.display()
            )));
        }
        if let Some(parent) = rel.parent() {
            ensure_dirs(dest, parent, &mut made_dirs)?;
        }
        fs::hard_link(dest.join(source), dest.join(rel)).ctx("link", &dest.join(rel))?;
    }
    for (rel, link) in &symlinks {
        if rel.ancestors().skip(1).any(|a| symlink_paths.contains(&a.to_path_buf())) {
            return Err(bad(format!("symlink {} lies inside another symlink", rel.display())));
        }
        if passes_through_link(rel, link, &symlink_paths) {
            return Err(bad(format!(
                "symlink {} -> {} resolves through another symlink of the archive",
                rel.display(),
                link.display()
            )));
        }
        if let Some(parent) = rel.parent() {
            ensure_dirs(dest, parent, &mut made_dirs)?;
        }
        make_symlink(link, &dest.join(rel))?;
    }
    Ok(())
}

fn ensure_dirs(dest: &Path, rel: &Path, made: &mut HashSet<PathBuf>) -> Result<()> {
    if rel.as_os_str().is_empty() || made.contains(rel) {
        return Ok(());
    }
    if let Some(parent) = rel.parent() {
        ensure_dirs(dest, parent, made)?;
    }
    let full = dest.join(rel);
    match fs::create_dir(&full) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && full.is_dir() => {}
        Err(e) => return Err(Error::io("create directory", &full, e)),
    }
    made.insert(rel.to_path_buf());
    Ok(())
}

fn write_file(entry: &mut impl Read, target: &Path, mode: u32, mtime: u64, opts: ExtractOptions) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let exec = mode & 0o111 != 0;
        let perm = match (exec, opts.read_only) {
            (true, true) => 0o555,
            (false, true) => 0o444,
            (true, false) => 0o755,
            (false, false) => 0o644,
        };
        options.mode(perm);
    }
    #[cfg(not(unix))]
    let _ = (mode, opts);
    let mut file = options.open(target)?;
    io::copy(entry, &mut file)?;
    let time = filetime::FileTime::from_unix_time(mtime as i64, 0);
    filetime::set_file_handle_times(&file, Some(time), Some(time))?;
    start_writeback(&file);
    Ok(())
}

/// Asks the kernel to start writing the file to disk now, without waiting, so
/// the flush before publishing a tree overlaps with decompressing the rest.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File) {}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link).ctx("create symlink", link)
}

#[cfg(windows)]
fn make_symlink(target: &Path, link: &Path) -> Result<()> {
    // Windows distributions carry no symlinks; fall back to a copy when one appears.
    let source = link.parent().unwrap_or(Path::new(".")).join(target);
    fs::copy(&source, link).map(|_| ()).ctx("copy", link)
}

/// Unpacks a (possibly compressed) archive file, for build-time staging.
pub fn extract_archive_file(archive: &Path, dest: &Path, opts: ExtractOptions) -> Result<([u8; 32], u64)> {
    let what = archive.display().to_string();
    let file = File::open(archive).ctx("open", archive)?;
    let reader = decompress(BufReader::with_capacity(1 << 20, file), &what)?;
    extract_tar(reader, dest, &what, opts)
}

#[cfg(feature = "writer")]
pub use writer::*;

#[cfg(feature = "writer")]
mod writer {
    use super::*;
    use std::io::Write;

    /// Writes a tar stream of `dir`'s contents that depends only on the tree:
    /// sorted names, no owners, and modes reduced to "executable or not".
    /// `mtime` overrides every file's time (wheel trees) or `None` keeps them
    /// (distributions, whose timestamp-based .pyc files depend on them).
    pub fn tar_tree<W: Write>(dir: &Path, out: W, mtime: Option<u64>) -> Result<W> {
        let mut builder = tar::Builder::new(out);
        builder.follow_symlinks(false);
        append_dir(&mut builder, dir, Path::new(""), mtime)?;
        builder.into_inner().ctx("write tar stream of", dir)
    }

    fn append_dir<W: Write>(b: &mut tar::Builder<W>, root: &Path, rel: &Path, mtime: Option<u64>) -> Result<()> {
        let dir = root.join(rel);
        let mut names: Vec<_> = fs::read_dir(&dir)
            .ctx("read directory", &dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()
            .ctx("read directory", &dir)?;
        names.sort();
        for name in names {
            let rel_path = rel.join(&name);
            let full = root.join(&rel_path);
            let meta = fs::symlink_metadata(&full).ctx("read", &full)?;
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            let time = mtime
                .unwrap_or_else(|| filetime::FileTime::from_last_modification_time(&meta).unix_seconds().max(0) as u64);
            header.set_mtime(time);
            let ft = meta.file_type();
            if ft.is_dir() {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                b.append_data(&mut header, &rel_path, io::empty()).ctx("pack", &full)?;
                append_dir(b, root, &rel_path, mtime)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&full).ctx("read symlink", &full)?;
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                b.append_link(&mut header, &rel_path, &target).ctx("pack", &full)?;
            } else if ft.is_file() {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if is_executable(&meta) { 0o755 } else { 0o644 });
                header.set_size(meta.len());
                let file = File::open(&full).ctx("open", &full)?;
                b.append_data(&mut header, &rel_path, file).ctx("pack", &full)?;
            } else {
                return Err(Error::new(format!("cannot pack {}: not a file, directory or symlink", full.display())));
            }
        }
        Ok(())
    }

    #[cfg(unix)]
    fn is_executable(meta: &fs::Metadata) -> bool {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }

    #[cfg(not(unix))]
    fn is_executable(_meta: &fs::Metadata) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            match kind {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    h.set_size(0);
                    b.append_link(&mut h, path, data).unwrap();
                }
                _ => {
                    h.set_size(data.len() as u64);
                    // append_data refuses `..`; write the name raw to test the extractor.
                    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
                    h.set_cksum();
                    b.append(&h, data.as_bytes()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    fn extract(bytes: &[u8]) -> (tempfile::TempDir, Result<([u8; 32], u64)>) {
        let dir = tempfile::tempdir().unwrap();
        let r = extract_tar(
            io::Cursor::new(bytes.to_vec()),
            dir.path(),
            "test archive",
            ExtractOptions { read_only: true },
        );
        (dir, r)
    }

    #[test]
    fn extracts_and_hashes_the_whole_stream() {
        let bytes =
            tar_with(&[("a/b.txt", tar::EntryType::Regular, "hello"), ("a/l", tar::EntryType::Symlink, "b.txt")]);
        let (dir, r) = extract(&bytes);
        let (sha, len) = r.unwrap();
        assert_eq!(len, bytes.len() as u64);
        assert_eq!(sha, <[u8; 32]>::from(Sha256::digest(&bytes)));
        assert_eq!(fs::read_to_string(dir.path().join("a/l")).unwrap(), "hello");
        assert!(fs::metadata(dir.path().join("a/b.txt")).unwrap().permissions().readonly());
    }

    #[test]
    fn refuses_parent_dir_entries() {
        let (_d, r) = extract(&tar_with(&[("../evil", tar::EntryType::Regular, "x")]));
        assert!(r.unwrap_err().message.contains("escapes"));
    }

    #[test]
    fn refuses_symlinks_out_of_the_tree() {
        let (_d, r) = extract(&tar_with(&[("a/l", tar::EntryType::Symlink, "../../etc")]));
        assert!(r.unwrap_err().message.contains("outside"));
        let (_d, r) = extract(&tar_with(&[("l", tar::EntryType::Symlink, "/etc/passwd")]));
        assert!(r.is_err());
    }

    #[test]
    fn refuses_writing_through_a_symlink() {
        let (_d, r) = extract(&tar_with(&[
            ("d", tar::EntryType::Symlink, "x"),
            ("x/f", tar::EntryType::Regular, "1"),
            ("d/f2", tar::EntryType::Symlink, "f"),
        ]));
        assert!(r.is_err());
    }

    #[test]
    fn refuses_duplicates() {
        let (_d, r) = extract(&tar_with(&[("f", tar::EntryType::Regular, "1"), ("f", tar::EntryType::Regular, "2")]));
        assert!(r.unwrap_err().message.contains("twice"));
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let bytes = tar_with(&[("f", tar::EntryType::Regular, &"x".repeat(5000))]);
        let (_d, r) = extract(&bytes[..1500]);
        assert!(r.is_err());
    }

    #[test]
    fn refuses_symlink_chains_that_leave_the_tree() {
        // Each link alone looks contained; together `esc` is `<dest>/../x`.
        let (dest, r) = extract(&tar_with(&[
            ("a/b/c/d/e/f", tar::EntryType::Regular, "x"),
            ("a/b/c/d/e/up5", tar::EntryType::Symlink, "../../../../.."),
            ("esc", tar::EntryType::Symlink, "a/b/c/d/e/up5/../../../x"),
        ]));
        let err = r.unwrap_err();
        assert!(err.message.contains("resolves through another symlink"), "{}", err.message);
        assert!(!dest.path().join("esc").exists());
        // A chain whose links each stay inside is fine: `bin/python -> python3 -> python3.12`.
        let (dest, r) = extract(&tar_with(&[
            ("bin/python3.12", tar::EntryType::Regular, "interpreter"),
            ("bin/python3", tar::EntryType::Symlink, "python3.12"),
            ("bin/python", tar::EntryType::Symlink, "python3"),
            ("lib/libpython.so", tar::EntryType::Symlink, "../bin/python3.12"),
        ]));
        r.unwrap();
        assert_eq!(fs::read_to_string(dest.path().join("bin/python")).unwrap(), "interpreter");
    }

    #[test]
    fn symlink_containment() {
        assert!(symlink_stays_inside(Path::new("a/b/l"), Path::new("../c")));
        assert!(symlink_stays_inside(Path::new("a/l"), Path::new("../c")));
        assert!(!symlink_stays_inside(Path::new("l"), Path::new("../c")));
        assert!(!symlink_stays_inside(Path::new("a/l"), Path::new("../../c")));
    }

    #[cfg(feature = "writer")]
    #[test]
    fn packing_is_deterministic_and_round_trips() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("pkg/sub")).unwrap();
        fs::write(src.path().join("pkg/__init__.py"), "x = 1\n").unwrap();
        fs::write(src.path().join("pkg/sub/data.txt"), "data").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("data.txt", src.path().join("pkg/sub/link")).unwrap();
        let one = tar_tree(src.path(), Vec::new(), Some(315532800)).unwrap();
        let two = tar_tree(src.path(), Vec::new(), Some(315532800)).unwrap();
        assert_eq!(one, two);
        let (dest, r) = extract(&one);
        r.unwrap();
        assert_eq!(fs::read_to_string(dest.path().join("pkg/__init__.py")).unwrap(), "x = 1\n");
        #[cfg(unix)]
        assert_eq!(fs::read_to_string(dest.path().join("pkg/sub/link")).unwrap(), "data");
    }
}
