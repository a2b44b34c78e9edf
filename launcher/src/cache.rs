//! The per-user cache: where it is, how it is laid out, and its locks.
//!
//! ```text
//! <root>/blobs/<sha256>/                 extracted read-only trees, shared by every app
//! <root>/envs/<app>/<version>-<build>/   one environment per installed release
//! <root>/downloads/<sha256>[.partial]     files fetched on first run, until installed
//! <root>/locks/                          lock files (flock), never deleted while in use
//! ```
//! Anything whose name starts with `.tmp-` is work in progress of a live or dead
//! process; it is never read, and whoever holds the matching lock may delete it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

pub struct Cache {
    pub root: PathBuf,
}

/// Released when dropped (closing the file releases the OS lock, also when the
/// process is killed).
pub struct Lock {
    _file: File,
}

impl Cache {
    /// `$PYSEAL_HOME`, else the platform's per-user cache directory + `/pyseal`,
    /// checked to be this user's alone (see `check_private`).
    pub fn locate() -> Result<Cache> {
        let root = match std::env::var_os("PYSEAL_HOME").filter(|v| !v.is_empty()) {
            Some(home) => {
                let root = PathBuf::from(home);
                if root.is_absolute() {
                    root
                } else {
                    std::env::current_dir().ctx("resolve PYSEAL_HOME against", Path::new("."))?.join(root)
                }
            }
            None => platform_cache_dir().map(|d| d.join("pyseal")).ok_or_else(|| {
                Error::new("cannot find a cache directory for this user")
                    .with_hint("set PYSEAL_HOME to a writable directory")
            })?,
        };
        // The root's path is written into pyvenv.cfg, one `key = value` per line.
        if root.to_str().is_none_or(|s| s.chars().any(char::is_control)) {
            return Err(Error::new(format!(
                "the cache path {} has control characters or is not UTF-8",
                root.display()
            ))
            .with_hint("set PYSEAL_HOME to a plain path"));
        }
        let cache = Cache { root };
        cache.check_private()?;
        Ok(cache)
    }

    /// The cache decides what this user runs, so nobody else may write it.
    /// The root (followed, if it is a link) and the directories under it that
    /// hold what gets executed or trusted (looked at without following links)
    /// must, where they exist, be directories owned by this user (or root) and
    /// not writable by group or others. Everything pyseal creates there is
    /// private to the user (0700). A few `stat` calls: cheap enough for every run.
    pub fn check_private(&self) -> Result<()> {
        #[cfg(unix)]
        {
            check_owned(&self.root, true)?;
            for dir in [self.blobs(), self.envs(), self.locks(), self.downloads()] {
                check_owned(&dir, false)?;
            }
        }
        Ok(())
    }

    /// Creates a directory of the cache (and the root) private to this user.
    pub fn create_dir(&self, dir: &Path) -> Result<()> {
        create_private_dir(dir)
    }

    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub fn blob(&self, sha256: &str) -> PathBuf {
        self.blobs().join(sha256)
    }

    pub fn envs(&self) -> PathBuf {
        self.root.join("envs")
    }

    pub fn app_envs(&self, app: &str) -> PathBuf {
        self.envs().join(app)
    }

    pub fn env(&self, app: &str, version: &str, build: &str) -> PathBuf {
        self.app_envs(app).join(format!("{version}-{build}"))
    }

    /// Files fetched on first run (lazy mode), kept until installed.
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// Blocks until this process holds the named lock exclusively.
    pub fn lock(&self, name: &str) -> Result<Lock> {
        let file = self.lock_file(name)?;
        file.lock().ctx("lock", &self.locks().join(name))?;
        Ok(Lock { _file: file })
    }

    /// Blocks until this process holds the named lock shared with other readers.
    pub fn lock_shared(&self, name: &str) -> Result<Lock> {
        let file = self.lock_file(name)?;
        file.lock_shared().ctx("lock", &self.locks().join(name))?;
        Ok(Lock { _file: file })
    }

    fn lock_file(&self, name: &str) -> Result<File> {
        let dir = self.locks();
        create_private_dir(&dir)?;
        let path = dir.join(format!("{name}.lock"));
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).ctx("open lock file", &path)
    }
}

/// `mkdir -p` with mode 0700 for every directory it creates, whatever the umask.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).ctx("create directory", dir)
}

#[cfg(unix)]
fn check_owned(path: &Path, follow: bool) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = match if follow { fs::metadata(path) } else { fs::symlink_metadata(path) } {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let mine = "make it yours and private (chmod 700), or set PYSEAL_HOME to a directory only you can write";
    if meta.file_type().is_symlink() {
        return Err(Error::new(format!(
            "the pyseal cache entry {} is a symlink, which pyseal never makes",
            path.display()
        ))
        .with_hint("remove it (pyseal recreates it), or set PYSEAL_HOME to a directory of your own"));
    }
    if !meta.is_dir() {
        return Err(Error::new(format!("the pyseal cache entry {} is not a directory", path.display()))
            .with_hint("remove it (pyseal recreates it), or set PYSEAL_HOME to a directory of your own"));
    }
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(Error::new(format!(
            "the pyseal cache {} belongs to another user (uid {})",
            path.display(),
            meta.uid()
        ))
        .with_hint("set PYSEAL_HOME to a directory of your own"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::new(format!(
            "the pyseal cache {} can be written by other users (mode {:o})",
            path.display(),
            meta.mode() & 0o7777
        ))
        .with_hint(mine));
    }
    Ok(())
}

fn platform_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        var("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library/Caches"))
    } else {
        var("XDG_CACHE_HOME").filter(|p| p.is_absolute()).or_else(|| var("HOME").map(|h| h.join(".cache")))
    }
}

/// Removes leftovers of work in progress named `.tmp-<prefix>*` in `dir`. Only
/// call this while holding the lock that guards that work.
pub fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let wanted = format!(".tmp-{prefix}");
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&wanted) {
            let _ = remove_tree(&entry.path());
        }
    }
}

/// Removes a tree even where files were made read-only.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    }
}

/// `fs::rename`, patient on Windows: antivirus scanners and indexers open
/// new files for a moment, and a rename of a tree holding one fails with a
/// sharing violation or "access denied" until they let go. Up to ~3 s of
/// retries with backoff; elsewhere a single try.
pub fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    retrying(|| fs::rename(from, to))
}

/// Runs `op` again while it fails the way a briefly held file makes it fail (Windows).
pub fn retrying<T>(mut op: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut delay = std::time::Duration::from_millis(10);
    for _ in 0..9 {
        match op() {
            Err(e) if cfg!(windows) && matches!(e.raw_os_error(), Some(5 | 32 | 33)) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
    op()
}

/// Puts the finished tree `tmp` at `dest`. When `dest` exists (a blob being
/// restored), the two are swapped in one step where the OS can (Linux:
/// `renameat2(RENAME_EXCHANGE)`), and the old tree, now at `tmp`, is removed;
/// elsewhere the old tree is moved aside first. Readers never see a tree that
/// was not verified.
pub fn replace_dir(tmp: &Path, dest: &Path) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return rename(tmp, dest).ctx("install", dest),
        Err(e) => return Err(Error::io("read", dest, e)),
        Ok(_) => {}
    }
    if exchange(tmp, dest).is_err() {
        let aside = tmp.with_extension("old");
        rename(dest, &aside).ctx("replace", dest)?;
        rename(tmp, dest).ctx("install", dest)?;
        let _ = remove_tree(&aside);
        return Ok(());
    }
    let _ = remove_tree(tmp);
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // Through syscall(): glibc before 2.28 and older musl lack the wrapper.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Makes `dir`'s recent writes durable before they are published by a rename.
pub fn sync_tree(dir: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        // One syncfs flushes every file of the new tree at once; fsyncing thousands
        // of files one by one would cost more than the whole extraction.
        use std::os::fd::AsRawFd;
        let handle = File::open(dir).ctx("open", dir)?;
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(Error::io("flush", dir, std::io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        fn walk(p: &Path) -> std::io::Result<()> {
            for entry in fs::read_dir(p)? {
                let entry = entry?;
                let ft = entry.file_type()?;
                if ft.is_dir() {
                    walk(&entry.path())?;
                } else if ft.is_file() {
                    flush_file(&entry.path())?;
                }
            }
            Ok(())
        }
        walk(dir).ctx("flush", dir)
    }
}

#[cfg(all(not(target_os = "linux"), not(windows)))]
fn flush_file(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// FlushFileBuffers needs a handle open for writing; a file unpacked read-only
/// cannot be opened so, and is left to the file system's own flush.
#[cfg(windows)]
fn flush_file(path: &Path) -> std::io::Result<()> {
    match fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f.sync_all(),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes a rename inside `dir` durable.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
