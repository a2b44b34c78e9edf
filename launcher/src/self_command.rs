//! `EXE self ...`: the management commands every pyseal executable carries.

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use crate::blobs;
use crate::cache::{self, Cache};
use crate::environment;
use crate::error::{Error, IoContext, Result, printable};
use crate::payload::Payload;
use crate::{env_path, install, run};

const COMMANDS: &str = "info, python, restore, remove, update, rollback";

pub fn run(cache: &Cache, payload: &Payload, args: &[OsString]) -> Result<i32> {
    let word = &payload.manifest.self_command;
    let sub = args.first().map(|a| a.to_string_lossy().into_owned());
    match sub.as_deref() {
        None | Some("help" | "--help" | "-h") => {
            print_help(payload);
            Ok(0)
        }
        Some("info") => info(cache, payload),
        Some("python") => {
            let env = env_path(cache, payload);
            if !environment::is_complete(&env) {
                install(cache, payload)?;
            }
            run::python(&run::Interpreter::of(cache, &payload.manifest, &env), args[1..].to_vec())
                .map_err(|e| Error::new(format!("cannot start Python: {}", crate::error::describe_io(&e))))
        }
        Some("remove") => {
            remove(cache, payload)?;
            Ok(0)
        }
        Some("restore") => {
            restore(cache, payload)?;
            println!(
                "restored {} {} in {}",
                payload.manifest.app,
                payload.manifest.version,
                env_path(cache, payload).display()
            );
            Ok(0)
        }
        Some("update") => {
            let tool = payload.manifest.tool_blob().filter(|_| payload.manifest.update.is_some()).ok_or_else(|| {
                Error::new(format!(
                    "{} {} was built without an update channel",
                    payload.manifest.app, payload.manifest.version
                ))
                .with_hint("build it with pyseal build --channel URL --public-key FILE")
            })?;
            let mut tool_args: Vec<OsString> = vec![crate::UPDATE_FLAG.into(), payload.path.clone().into_os_string()];
            tool_args.extend(args[1..].iter().cloned());
            crate::run_tool(cache, payload, tool, &tool_args)?;
            Ok(0)
        }
        Some("rollback") => crate::update::rollback_command(cache, payload),
        Some(other) => Err(Error::new(format!("unknown command `{word} {other}`"))
            .with_hint(format!("the `{word}` commands are: {COMMANDS}"))),
    }
}

fn print_help(payload: &Payload) {
    let m = &payload.manifest;
    let w = &m.self_command;
    println!("{} {}: management commands", m.app, m.version);
    println!();
    println!("  {w} info              where the app is installed and how much space it takes");
    println!("  {w} python [ARGS...]  run the app's Python with its packages");
    println!("  {w} restore           reinstall the app from this executable");
    println!("  {w} remove            remove the app's installation from the cache");
    if m.update.is_some() {
        println!("  {w} update [--check]  install the newest release from the app's signed channel");
        println!("  {w} rollback          go back to the release before the last update");
    }
}

fn info(cache: &Cache, payload: &Payload) -> Result<i32> {
    let m = &payload.manifest;
    let env = env_path(cache, payload);
    let installed = environment::is_complete(&env);
    // Every string from the manifest is shown with control characters escaped.
    let p = |s: &str| printable(s);
    println!("app:          {} {}", p(&m.app), p(&m.version));
    println!("build:        {}", payload.build_id());
    println!("entry point:  {}", p(&environment::describe_entry(m)));
    println!("python:       {}", p(&m.python.version));
    println!("target:       {}", p(&m.target));
    println!("executable:   {}", p(&payload.path.display().to_string()));
    println!("cache:        {}", p(&cache.root.display().to_string()));
    println!(
        "environment:  {} ({})",
        p(&env.display().to_string()),
        if installed { "installed" } else { "not installed yet" }
    );
    println!("blobs:");
    let mut total = 0u64;
    for blob in &m.blobs {
        let dir = cache.blob(&blob.sha256);
        let state = if dir.is_dir() {
            let size = disk_usage(&dir);
            total += size;
            format!("installed, {}", human(size))
        } else {
            "not installed".to_string()
        };
        println!("  {}  {:<28} {}", &blob.sha256[..12], p(&blob.name), state);
    }
    if installed {
        total += disk_usage(&env);
    }
    println!("disk use:     {}", human(total));
    Ok(0)
}

/// Removes this release's environment, then every blob no environment uses.
fn remove(cache: &Cache, payload: &Payload) -> Result<()> {
    let _gc = cache.lock("gc")?;
    let env = env_path(cache, payload);
    let existed = env.exists();
    cache::remove_tree(&env).ctx("remove", &env)?;
    let app_dir = cache.app_envs(&payload.manifest.app);
    let _ = fs::remove_dir(&app_dir); // only if empty
    let freed = collect_garbage(cache)?;
    let m = &payload.manifest;
    if existed {
        println!("removed {} {} from {} ({} freed)", m.app, m.version, cache.root.display(), human(freed));
    } else {
        println!("{} {} was not installed in {}", m.app, m.version, cache.root.display());
    }
    Ok(())
}

/// Installs this release's blobs and environment again from the executable,
/// for when files in the cache were damaged by hand or by the disk. Every blob
/// is extracted and verified before it replaces the cached copy, so a damaged
/// or crafted executable cannot take away what another app uses.
fn restore(cache: &Cache, payload: &Payload) -> Result<()> {
    crate::install_with(cache, payload, blobs::Mode::Replace)?;
    let _gc = cache.lock("gc")?;
    let env = env_path(cache, payload);
    cache::remove_tree(&env).ctx("remove", &env)?;
    drop(_gc);
    install(cache, payload)
}

/// Removes blobs no complete environment names, and the debris of killed runs.
/// Caller holds the `gc` lock exclusively: every installer holds it shared for
/// its whole run, so nothing in the cache is in progress now, every `.tmp-*`
/// is dead, and no process waits on a blob or environment lock file.
///
/// Only names of the forms pyseal itself creates are ever deleted, and links
/// are never followed while collecting: a directory linked into the cache by
/// hand stays untouched, wherever it points.
fn collect_garbage(cache: &Cache) -> Result<u64> {
    let mut in_use = std::collections::HashSet::new();
    for app in entries(&cache.envs(), Kind::Dir) {
        let app_dir = cache.envs().join(&app);
        if !crate::manifest::is_safe_name(&app) {
            continue;
        }
        for env in entries(&app_dir, Kind::Dir) {
            let path = app_dir.join(&env);
            match environment::blobs_in_use(&path) {
                Some(blobs) if is_env_name(&env) => in_use.extend(blobs),
                _ if is_env_name(&env) || env.starts_with(".tmp-") => {
                    let _ = cache::remove_tree(&path);
                }
                _ => {}
            }
        }
        let _ = fs::remove_dir(&app_dir); // only if now empty
    }
    let mut freed = 0;
    for name in entries(&cache.blobs(), Kind::Dir) {
        let ours = crate::manifest::is_sha256_hex(&name) || name.starts_with(".tmp-");
        if in_use.contains(&name) || !ours {
            continue;
        }
        let dir = cache.blobs().join(&name);
        freed += disk_usage(&dir);
        cache::remove_tree(&dir).ctx("remove", &dir)?;
    }
    for name in entries(&cache.locks(), Kind::File) {
        if name != "gc.lock" && name.ends_with(".lock") {
            let _ = fs::remove_file(cache.locks().join(name));
        }
    }
    Ok(freed)
}

/// `<version>-<12 hex>`: an environment's directory name.
fn is_env_name(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(version, build)| {
        crate::manifest::is_safe_name(version)
            && build.len() == 12
            && build.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Dir,
    File,
}

/// Names of the real directories (or files) in `dir`, itself a real
/// directory: links, and anything reached through one, are left out.
fn entries(dir: &Path, kind: Kind) -> Vec<String> {
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Vec::new();
    }
    let Ok(read) = fs::read_dir(dir) else { return Vec::new() };
    read.filter_map(|e| e.ok())
        .filter(|e| {
            e.file_type().is_ok_and(|t| match kind {
                Kind::Dir => t.is_dir(),
                Kind::File => t.is_file(),
            })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    if meta.is_dir() {
        fs::read_dir(path).map(|rd| rd.filter_map(|e| e.ok()).map(|e| disk_usage(&e.path())).sum()).unwrap_or(0)
    } else {
        meta.len()
    }
}

/// `12.3 MB`, with integer arithmetic (float formatting would grow the launcher).
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut unit = 0;
    let mut scale = 1u64;
    while bytes / scale >= 1000 && unit < UNITS.len() - 1 {
        scale *= 1000;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let tenths = bytes * 10 / scale;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_sizes() {
        assert_eq!(super::human(999), "999 B");
        assert_eq!(super::human(1_250), "1.2 KB");
        assert_eq!(super::human(80_049_000), "80.0 MB");
    }
}
