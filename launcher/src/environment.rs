//! The per-release environment: a venv-shaped directory whose interpreter and
//! packages are symlinks into the shared blobs.
//!
//! ```text
//! envs/<app>/<version>-<build>/
//!   pyvenv.cfg                       home = <python blob>/python/bin
//!   bin/python, python3, python3.X   -> the distribution's interpreter
//!   bin/<console scripts>            -> the wheels' scripts
//!   bin/pyseal-entry.py              runs the entry point
//!   lib/python3.X/site-packages/*    -> each wheel blob's site-packages/*, merged
//!   .pyseal-complete                 written last; lists the blobs in use
//! ```
//! The whole directory is built under a temp name and renamed into place, so it
//! exists complete or not at all. One site-packages keeps imports exactly as fast
//! as in a plain venv, while each wheel's files live once in the cache.
//!
//! Windows has no symlinks for users without privileges, so there the
//! environment is only `bin/pyseal-entry.py` and the marker: Python is the
//! distribution's own, started with the wheels' site-packages on `PYTHONPATH`
//! (see `run`), and the entry script processes their `.pth` files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cache::{self, Cache};
use crate::error::{IoContext, Result};
use crate::manifest::{BlobKind, EntryKind, Manifest};

/// Written last inside the environment: its presence means "complete".
pub const MARKER: &str = ".pyseal-complete";
pub const ENTRY_SCRIPT: &str = "pyseal-entry.py";

pub fn is_complete(env: &Path) -> bool {
    env.join(MARKER).is_file()
}

pub fn python(env: &Path) -> PathBuf {
    if cfg!(windows) { env.join("Scripts").join("python.exe") } else { env.join("bin").join("python") }
}

pub fn entry_script(env: &Path) -> PathBuf {
    env.join("bin").join(ENTRY_SCRIPT)
}

/// The blobs an environment uses, from its marker (for garbage collection).
pub fn blobs_in_use(env: &Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(env.join(MARKER)).ok()?;
    Some(text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// Creates the environment at `env` unless it is already complete. The caller
/// has made sure every blob of the manifest is in the cache.
pub fn ensure(cache: &Cache, manifest: &Manifest, env: &Path, build: &str) -> Result<()> {
    if is_complete(env) {
        return Ok(());
    }
    let _lock = cache.lock(&format!("env-{}-{}-{build}", manifest.app, manifest.version))?;
    if is_complete(env) {
        return Ok(());
    }
    let parent = env.parent().unwrap_or(&cache.root);
    cache.create_dir(parent)?;
    let name = env.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    cache::remove_stale_temps(parent, &format!("{name}-"));
    // An incomplete directory at the final path can only come from someone else's
    // hands (we never publish one); it must not block the rename.
    cache::remove_tree(env).ctx("remove", env)?;
    let tmp = parent.join(format!(".tmp-{name}-{}", std::process::id()));
    let result = populate(cache, manifest, &tmp)
        .and_then(|()| cache::sync_tree(&tmp))
        .and_then(|()| cache::rename(&tmp, env).ctx("install", env));
    if result.is_err() {
        let _ = cache::remove_tree(&tmp);
    } else {
        cache::sync_dir(parent);
    }
    result
}

#[cfg(unix)]
fn populate(cache: &Cache, manifest: &Manifest, env: &Path) -> Result<()> {
    let (major, _) = manifest.python_minor().ok_or_else(|| crate::error::Error::new("invalid python version"))?;
    let lib_dir = manifest.python_lib_dir().ok_or_else(|| crate::error::Error::new("invalid python version"))?;
    let python_blob = cache.blob(&manifest.python.blob);
    let interpreter = manifest.python.executable_in(&python_blob);
    let home = interpreter.parent().unwrap_or(&python_blob).to_path_buf();
    let bin = env.join("bin");
    let site = env.join("lib").join(&lib_dir).join("site-packages");
    fs::create_dir_all(&bin).ctx("create directory", &bin)?;
    fs::create_dir_all(&site).ctx("create directory", &site)?;

    // pyseal's own files first, created new (never through a link): a wheel
    // entry of the same name is then skipped by the linking below, instead of
    // being written through into a shared, read-only blob.
    let cfg = format!(
        "home = {}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {}\npyseal-app = {} {}\n",
        home.display(),
        manifest.python.version,
        interpreter.display(),
        manifest.app,
        manifest.version,
    );
    write_new(&env.join("pyvenv.cfg"), &cfg)?;
    for name in ["python".to_string(), format!("python{major}"), lib_dir.clone()] {
        symlink(&interpreter, &bin.join(name))?;
    }
    write_new(&entry_script(env), &entry_source(manifest, &[]))?;

    for blob in manifest.blobs.iter().filter(|b| b.kind == BlobKind::Wheel) {
        let root = cache.blob(&blob.sha256);
        link_tree(&root.join("site-packages"), &site, &[])?;
        link_tree(&root.join("bin"), &bin, &[])?;
        // `.data/data` lands at the environment's root, where the marker lives.
        link_tree(&root.join("data"), env, &[MARKER])?;
    }

    write_marker(manifest, env)
}

#[cfg(not(unix))]
fn populate(cache: &Cache, manifest: &Manifest, env: &Path) -> Result<()> {
    let bin = env.join("bin");
    fs::create_dir_all(&bin).ctx("create directory", &bin)?;
    write_new(&entry_script(env), &entry_source(manifest, &site_dirs(cache, manifest)))?;
    write_marker(manifest, env)
}

/// The marker, written last: the blobs the environment uses.
fn write_marker(manifest: &Manifest, env: &Path) -> Result<()> {
    let mut in_use: Vec<&str> = manifest.blobs.iter().map(|b| b.sha256.as_str()).collect();
    in_use.sort_unstable();
    in_use.dedup();
    write_new(&env.join(MARKER), &(in_use.join("\n") + "\n"))
}

/// Each wheel's `site-packages` in the cache, in the manifest's order.
pub fn site_dirs(cache: &Cache, manifest: &Manifest) -> Vec<PathBuf> {
    manifest
        .blobs
        .iter()
        .filter(|b| b.kind == BlobKind::Wheel)
        .map(|b| cache.blob(&b.sha256).join("site-packages"))
        .collect()
}

/// The script the launcher runs for `function` and `module` entries. Its first
/// argument is the launcher's own argv[0], so the application sees the name it
/// was started by (a module sees its own file, as under `python -m`).
pub fn entry_source(manifest: &Manifest, site_dirs: &[PathBuf]) -> String {
    let module = &manifest.entry.module;
    let mut header = format!("# Written by pyseal: starts {} {}.\n", manifest.app, manifest.version);
    if !site_dirs.is_empty() {
        // Without a venv (Windows): the wheels' directories as site directories, `.pth` files processed.
        header.push_str("import site\n");
        for dir in site_dirs {
            header.push_str(&format!("site.addsitedir({:?})\n", dir.to_string_lossy()));
        }
    }
    // An updatable release is "pending" until a start gets this far (see update::PENDING).
    let reached = if manifest.update.is_some() {
        "import os\ntry:\n    os.unlink(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), \"pyseal-pending\"))\nexcept OSError:\n    pass\n"
    } else {
        ""
    };
    if manifest.entry.kind == EntryKind::Module {
        return format!(
            "{header}import runpy, sys\ndel sys.argv[0]\nimport importlib.util\nif importlib.util.find_spec({module:?}) is None:\n    raise ModuleNotFoundError({module:?})\n{reached}runpy.run_module({module:?}, run_name=\"__main__\", alter_sys=True)\n"
        );
    }
    let (head, rest) = match manifest.entry.function.split_once('.') {
        Some((head, rest)) => (head, format!(".{rest}")),
        None => (manifest.entry.function.as_str(), String::new()),
    };
    format!("{header}import sys\ndel sys.argv[0]\nfrom {module} import {head}\n{reached}sys.exit({head}{rest}())\n")
}

/// The file of the app's `.data/scripts` a `program` or `script` entry runs:
/// the environment's link to it, or (Windows, no links) the first wheel blob
/// that has it.
pub fn entry_file(cache: &Cache, env: &Path, manifest: &Manifest) -> Option<PathBuf> {
    let script = match manifest.entry.kind {
        EntryKind::Program | EntryKind::Script => manifest.entry.script.as_deref()?,
        EntryKind::Function | EntryKind::Module => return None,
    };
    if cfg!(unix) {
        return Some(env.join("bin").join(script));
    }
    manifest
        .blobs
        .iter()
        .filter(|b| b.kind == BlobKind::Wheel)
        .map(|b| cache.blob(&b.sha256).join("bin").join(script))
        .find(|p| p.is_file())
}

/// How `self info` and errors name what runs: `demo.cli:main (script demo)`,
/// `-m http.server`, `program ruff`, `script tool`.
pub fn describe_entry(manifest: &Manifest) -> String {
    let e = &manifest.entry;
    let script = e.script.as_deref().unwrap_or_default();
    match e.kind {
        EntryKind::Function if script.is_empty() => format!("{}:{}", e.module, e.function),
        EntryKind::Function => format!("{}:{} (script {script})", e.module, e.function),
        EntryKind::Module => format!("-m {}", e.module),
        EntryKind::Program | EntryKind::Script => format!("{} {script}", e.kind.describe()),
    }
}

#[cfg(unix)]
/// Mirrors `src` into `dest` with symlinks. Where a directory exists in several
/// wheels (namespace packages, `share/`), it becomes a real directory whose
/// entries link to each; where files collide, the first one wins (pyseal's own
/// files were written first). `reserved` names are never linked at this level.
fn link_tree(src: &Path, dest: &Path, reserved: &[&str]) -> Result<()> {
    let entries = match fs::read_dir(src) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::error::Error::io("read directory", src, e)),
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| !reserved.iter().any(|r| n.as_os_str() == *r))
        .collect();
    names.sort();
    fs::create_dir_all(dest).ctx("create directory", dest)?;
    for name in names {
        let from = src.join(&name);
        let to = dest.join(&name);
        match fs::symlink_metadata(&to) {
            Err(_) => symlink(&from, &to)?,
            Ok(meta) => {
                if !from.is_dir() {
                    continue;
                }
                if meta.file_type().is_symlink() && to.is_dir() {
                    // Split the earlier link into a real directory of links.
                    let earlier = fs::read_link(&to).ctx("read symlink", &to)?;
                    fs::remove_file(&to).ctx("remove", &to)?;
                    link_tree(&earlier, &to, &[])?;
                    link_tree(&from, &to, &[])?;
                } else if meta.is_dir() {
                    link_tree(&from, &to, &[])?;
                }
            }
        }
    }
    Ok(())
}

/// Creates `path` with `text`; fails if anything (a file, a link) is there already.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new().write(true).create_new(true).open(path).ctx("write", path)?;
    file.write_all(text.as_bytes()).ctx("write", path)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link).ctx("create symlink", link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_script_calls_nested_attributes() {
        let mut m = crate::manifest::sample();
        m.entry.function = "App.run".into();
        let src = entry_source(&m, &[]);
        assert!(src.contains("from demo.cli import App\nsys.exit(App.run())"), "{src}");
    }

    #[cfg(unix)]
    #[test]
    fn merges_shared_directories() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        fs::create_dir_all(a.join("ns/one")).unwrap();
        fs::create_dir_all(b.join("ns/two")).unwrap();
        fs::write(a.join("top.py"), "a").unwrap();
        fs::write(b.join("top.py"), "b").unwrap();
        let dest = t.path().join("site");
        link_tree(&a, &dest, &[]).unwrap();
        link_tree(&b, &dest, &[]).unwrap();
        assert!(dest.join("ns/one").is_dir());
        assert!(dest.join("ns/two").is_dir());
        assert!(!fs::symlink_metadata(dest.join("ns")).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(dest.join("top.py")).unwrap(), "a");
    }
}
