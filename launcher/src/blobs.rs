//! Putting a payload's blobs into the shared cache, all-or-nothing.
//!
//! Every missing blob is locked (in hash order, so two processes never deadlock),
//! unpacked into `blobs/.tmp-<sha>-<pid>` while its stream is hashed, checked
//! against its name, flushed, and only then renamed to `blobs/<sha>`. If any blob
//! of the payload fails, none of this run's temp dirs is published: a damaged
//! executable installs nothing.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::archive::{self, ExtractOptions};
use crate::cache::{self, Cache, Lock};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{Blob, BlobKind, Source};
use crate::payload::{Payload, hex};

/// Whether the blob's directory is in the cache: a real directory, never one
/// reached through a link.
pub fn present(cache: &Cache, sha256: &str) -> bool {
    std::fs::symlink_metadata(cache.blob(sha256)).is_ok_and(|m| m.is_dir())
}

/// Blobs of the manifest not yet in the cache.
pub fn missing<'a>(cache: &Cache, payload: &'a Payload) -> Vec<&'a Blob> {
    let mut seen = std::collections::HashSet::new();
    payload.manifest.blobs.iter().filter(|b| seen.insert(&b.sha256) && !present(cache, &b.sha256)).collect()
}

/// Whether a blob the app runs from (not the lazy installer) has gone from
/// the cache, e.g. deleted by hand: one `lstat` per blob.
pub fn any_needed_missing(cache: &Cache, payload: &Payload) -> bool {
    payload.manifest.blobs.iter().any(|b| b.kind != BlobKind::Tool && !present(cache, &b.sha256))
}

/// How blobs already in the cache are treated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Kept: only missing blobs are extracted.
    Missing,
    /// Replaced (`self restore`): every blob is extracted and verified anew,
    /// and only then swapped for the copy in the cache.
    Replace,
}

/// Extracts every blob the cache lacks. Returns how many were extracted here.
pub fn ensure(cache: &Cache, payload: &Payload) -> Result<usize> {
    ensure_these(cache, payload, missing(cache, payload), Mode::Missing)
}

/// Extracts the given blobs: where the cache lacks them, or all of them.
pub fn ensure_these(cache: &Cache, payload: &Payload, wanted: Vec<&Blob>, mode: Mode) -> Result<usize> {
    let mut seen = std::collections::HashSet::new();
    let needed = |b: &&Blob| mode == Mode::Replace || !present(cache, &b.sha256);
    let mut todo: Vec<&Blob> = wanted.into_iter().filter(|b| seen.insert(b.sha256.clone())).filter(needed).collect();
    if todo.is_empty() {
        return Ok(0);
    }
    let dir = cache.blobs();
    cache.create_dir(&dir)?;
    todo.sort_by(|a, b| a.sha256.cmp(&b.sha256));
    let _locks: Vec<Lock> = todo.iter().map(|b| cache.lock(&format!("blob-{}", b.sha256))).collect::<Result<_>>()?;
    // Another process may have finished them while we waited.
    todo.retain(needed);
    if todo.is_empty() {
        return Ok(0);
    }
    for blob in &todo {
        cache::remove_stale_temps(&dir, &blob.sha256);
    }
    // Biggest first, so the distribution starts at once and small wheels fill in.
    todo.sort_by_key(|b| std::cmp::Reverse(b.size));
    let temps: Vec<PathBuf> =
        todo.iter().map(|b| dir.join(format!(".tmp-{}-{}", b.sha256, std::process::id()))).collect();

    // Lazy blobs: everything is fetched and verified before anything is unpacked.
    let downloads = fetch_sources(cache, payload, &todo)?;
    let result = extract_all(payload, &todo, &temps, &downloads)
        .and_then(|()| compile_fetched(cache, payload, &todo, &temps, &downloads));
    let result = result.and_then(|()| cache::sync_tree(&dir));
    // Every new tree is verified and flushed: only now may an old copy go.
    let result = result.and_then(|()| {
        for (blob, tmp) in todo.iter().zip(&temps) {
            let dest = cache.blob(&blob.sha256);
            cache::replace_dir(tmp, &dest)?;
        }
        cache::sync_dir(&dir);
        Ok(())
    });
    if result.is_err() {
        for tmp in &temps {
            let _ = cache::remove_tree(tmp);
        }
    } else {
        // Installed: the downloaded files have served their purpose.
        for file in downloads.iter().flatten() {
            let _ = std::fs::remove_file(file);
        }
    }
    result.map(|()| todo.len())
}

/// When the build asked for it, byte-compiles the wheels just installed from
/// downloads, with the distribution's interpreter (from its temp dir if it is
/// being installed in the same run), before anything is published.
fn compile_fetched(
    cache: &Cache,
    payload: &Payload,
    todo: &[&Blob],
    temps: &[PathBuf],
    downloads: &[Option<PathBuf>],
) -> Result<()> {
    let m = &payload.manifest;
    let trees: Vec<PathBuf> = todo
        .iter()
        .zip(temps)
        .zip(downloads)
        .filter(|((b, _), d)| b.kind == BlobKind::Wheel && d.is_some())
        .map(|((_, t), _)| t.join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    if !m.compile_fetched || trees.is_empty() {
        return Ok(());
    }
    let python_root = match todo.iter().position(|b| b.sha256 == m.python.blob) {
        Some(i) => temps[i].clone(),
        None => cache.blob(&m.python.blob),
    };
    let python = m.python.executable_in(&python_root);
    // -I: none of the user's PYTHON* variables or site-packages take part.
    // Files that do not compile are left to Python, as pip does.
    std::process::Command::new(&python)
        .args(["-I", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"])
        .args(&trees)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            Error::new(format!("cannot byte-compile with {}: {}", python.display(), crate::error::describe_io(&e)))
        })?;
    Ok(())
}

/// Downloads the files of the blobs fetched by URL; `None` for embedded blobs.
#[cfg(feature = "lazy")]
fn fetch_sources(cache: &Cache, payload: &Payload, todo: &[&Blob]) -> Result<Vec<Option<PathBuf>>> {
    use crate::download::{Download, fetch_all};
    let (positions, items): (Vec<usize>, Vec<Download>) = todo
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match &b.source {
            Source::Url { url, sha256, size, mirror } => {
                Some((i, Download::new(url, sha256, *size, &b.name, mirror.as_ref())))
            }
            Source::Payload { .. } => None,
        })
        .unzip();
    let mut out = vec![None; todo.len()];
    if items.is_empty() {
        return Ok(out);
    }
    let total = items.iter().map(|d| d.size).sum();
    let paths =
        with_progress(&payload.manifest.app, "downloading", total, |done| fetch_all(&cache.downloads(), &items, done))?;
    for (i, path) in positions.into_iter().zip(paths) {
        out[i] = Some(path);
    }
    Ok(out)
}

#[cfg(not(feature = "lazy"))]
fn fetch_sources(_cache: &Cache, payload: &Payload, todo: &[&Blob]) -> Result<Vec<Option<PathBuf>>> {
    if todo.iter().any(|b| matches!(b.source, Source::Url { .. })) {
        return Err(Error::new(format!(
            "{} fetches files on first run, but its launcher was built without network support",
            payload.path.display()
        ))
        .with_hint("rebuild it with pyseal build --mode lazy"));
    }
    Ok(vec![None; todo.len()])
}

fn extract_all(payload: &Payload, todo: &[&Blob], temps: &[PathBuf], downloads: &[Option<PathBuf>]) -> Result<()> {
    let total: u64 = todo.iter().map(|b| b.size).sum();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(todo.len()).max(1);
    with_progress(&payload.manifest.app, "setting up on first run", total, |done| {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= todo.len() || failed.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) = extract_one(payload, todo[i], &temps[i], downloads[i].as_deref(), done) {
                            failed.store(true, Ordering::Relaxed);
                            let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            // A damaged payload explains more than a follow-on I/O error.
                            if slot.as_ref().is_none_or(|prev| !prev.corrupt && e.corrupt) {
                                *slot = Some(e);
                            }
                        }
                    }
                });
            }
        })
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Puts one blob's tree into `tmp`: an embedded blob unpacked from the payload,
/// a downloaded distribution archive unpacked, or a downloaded wheel installed.
/// Tar streams are hashed while they are unpacked and must match the blob's name.
fn extract_one(payload: &Payload, blob: &Blob, tmp: &Path, download: Option<&Path>, done: &AtomicU64) -> Result<()> {
    if let (Some(file), BlobKind::Wheel) = (download, blob.kind) {
        return install_wheel(file, tmp, done);
    }
    std::fs::create_dir(tmp).ctx("create directory", tmp)?;
    let what = match download {
        Some(file) => format!("{} ({})", file.display(), blob.name),
        None => format!("{} (blob {})", payload.path.display(), blob.name),
    };
    let stream: Box<dyn std::io::Read + Send> = match download {
        Some(file) => {
            let f = std::fs::File::open(file).ctx("open", file)?;
            archive::decompress(std::io::BufReader::with_capacity(1 << 20, f), &what)?
        }
        None => {
            let mut decoder = zstd::stream::read::Decoder::new(payload.blob_reader(blob))
                .map_err(|e| Error::new(format!("cannot start zstd for {what}: {e}")))?;
            decoder.window_log_max(31).map_err(|e| Error::new(format!("cannot configure zstd for {what}: {e}")))?;
            Box::new(decoder)
        }
    };
    let counted = CountingReader { inner: stream, done };
    // Errors read "<exe> (blob <name>) is damaged: <what went wrong>".
    let (sha, size) =
        archive::extract_tar(counted, tmp, &what, ExtractOptions { read_only: true }).map_err(|e| match e.corrupt {
            true => e.with_hint(DAMAGED_HINT),
            false => e,
        })?;
    if hex(&sha) != blob.sha256 || size != blob.size {
        return Err(
            Error::corrupt(format!("{what} is damaged: it does not match its checksum")).with_hint(DAMAGED_HINT)
        );
    }
    Ok(())
}

#[cfg(feature = "lazy")]
fn install_wheel(file: &Path, tmp: &Path, done: &AtomicU64) -> Result<()> {
    crate::wheel::install_tree(file, tmp, true)?;
    done.fetch_add(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0), Ordering::Relaxed);
    Ok(())
}

#[cfg(not(feature = "lazy"))]
fn install_wheel(file: &Path, _tmp: &Path, _done: &AtomicU64) -> Result<()> {
    Err(Error::new(format!("cannot install {}: this launcher was built without wheel support", file.display())))
}

const DAMAGED_HINT: &str = "download or build the executable again; nothing was installed";

struct CountingReader<'a, R> {
    inner: R,
    done: &'a AtomicU64,
}

impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Runs `work` with a byte counter, shown as a progress line while it runs
/// when stderr is a terminal.
fn with_progress<T>(app: &str, label: &str, total: u64, work: impl FnOnce(&AtomicU64) -> T) -> T {
    let done = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let progress =
            std::io::stderr().is_terminal().then(|| s.spawn(|| show_progress(app, label, total, &done, &finished)));
        let result = work(&done);
        finished.store(true, Ordering::Relaxed);
        if let Some(p) = progress {
            let _ = p.join();
        }
        result
    })
}

/// A one-line progress report on a terminal, only once the work takes noticeable time.
fn show_progress(app: &str, label: &str, total: u64, done: &AtomicU64, finished: &AtomicBool) {
    let start = Instant::now();
    let mut shown = false;
    while !finished.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if start.elapsed() < Duration::from_millis(400) {
            continue;
        }
        let d = done.load(Ordering::Relaxed).min(total);
        let pct = (d * 100).checked_div(total).unwrap_or(100);
        eprint!("\r{app}: {label}: {pct:>3}% of {} MB", total.div_ceil(1 << 20));
        shown = true;
    }
    if shown {
        eprint!("\r\x1b[2K");
    }
}
