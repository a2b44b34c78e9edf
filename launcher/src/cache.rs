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
    /// `$PYSEAL_HOME`, else the platform's per-user cache directory + `/pyseal`.
    pub fn locate() -> Result<Cache> {
        if let Some(home) = std::env::var_os("PYSEAL_HOME").filter(|v| !v.is_empty()) {
            let root = PathBuf::from(home);
            let root = if root.is_absolute() {
                root
            } else {
                std::env::current_dir().ctx("resolve PYSEAL_HOME against", Path::new("."))?.join(root)
            };
            return Ok(Cache { root });
        }
        platform_cache_dir().map(|d| Cache { root: d.join("pyseal") }).ok_or_else(|| {
            Error::new("cannot find a cache directory for this user")
                .with_hint("set PYSEAL_HOME to a writable directory")
        })
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
        fs::create_dir_all(&dir).ctx("create directory", &dir)?;
        let path = dir.join(format!("{name}.lock"));
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).ctx("open lock file", &path)
    }
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
                    File::open(entry.path())?.sync_all()?;
                }
            }
            Ok(())
        }
        walk(dir).ctx("flush", dir)
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
