//! Self-update: `self update`, `self rollback`, and the watch over a release's
//! first starts.
//!
//! The small launcher has no network code: `self update` runs the network
//! tool (the `tool` blob every updatable build carries), which fetches and
//! checks the signed channel, assembles the new executable from the parts it
//! lacks, installs it and switches ([apply], feature `lazy`).
//!
//! The switch keeps N-1: the previous executable stays beside the current
//! one as `.<name>.pyseal-previous` (a hard link where the file system
//! allows, so the rename over the current file is the only step that
//! matters), and the new release's environment holds a `pyseal-pending`
//! file until its first start reaches the app's entry point (the entry
//! script removes it). A release that fails to start twice is rolled back
//! here, by the launcher, and marked bad so `self update` does not offer it
//! again.

#[cfg(feature = "lazy")]
pub mod apply;
#[cfg(feature = "lazy")]
pub mod channel;
#[cfg(any(feature = "lazy", feature = "writer"))]
pub mod delta;
pub mod version;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::error::{Error, IoContext, Result};
use crate::payload::Payload;

/// Inside a release's environment until its first start reaches the entry point.
pub const PENDING: &str = "pyseal-pending";
/// Starts a pending release gets before it is rolled back.
pub const ATTEMPTS: u32 = 2;
/// `self update --check`: an update exists.
pub const EXIT_UPDATE_AVAILABLE: i32 = 10;

/// What the cache remembers about an app's channel: the highest sequence
/// number seen (older documents are replays) and the versions rolled back.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub struct State {
    pub sequence: u64,
    pub bad: Vec<String>,
    /// The result of the last background check, shown on the next run.
    pub available: Option<String>,
    pub checked: u64,
}

pub fn state_path(cache: &Cache, app: &str) -> PathBuf {
    cache.root.join("updates").join(app).join("state.json")
}

pub fn read_state(cache: &Cache, app: &str) -> State {
    // A damaged state file forgets nothing worse than the last sequence number; it is rewritten on the next update.
    fs::read(state_path(cache, app)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

pub fn write_state(cache: &Cache, app: &str, state: &State) -> Result<()> {
    let path = state_path(cache, app);
    let dir = path.parent().unwrap_or(&cache.root);
    crate::cache::create_private_dir(dir)?;
    let tmp = dir.join(format!(".state.json.tmp-{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    fs::write(&tmp, bytes).ctx("write", &tmp)?;
    crate::cache::rename(&tmp, &path).ctx("write", &path)
}

/// Where the previous release's executable is kept, beside the current one.
pub fn previous_of(exe: &Path) -> PathBuf {
    let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    exe.with_file_name(format!(".{name}.pyseal-previous"))
}

/// Where a Windows executable is moved while it still runs, to be removed later.
pub fn retired_of(exe: &Path) -> PathBuf {
    let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    exe.with_file_name(format!(".{name}.pyseal-retired"))
}

/// Whether a start must be watched: the release is pending.
pub fn pending(env: &Path) -> bool {
    env.join(PENDING).exists()
}

/// A start of a pending release: counted, run as a child (not exec'd) so the
/// launcher sees how it ends, and rolled back after the second failure.
pub fn start_pending(
    cache: &Cache,
    payload: &Payload,
    env: &Path,
    argv0: OsString,
    args: Vec<OsString>,
) -> Result<i32> {
    let marker = env.join(PENDING);
    let attempts = fs::read_to_string(&marker).ok().and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0);
    if attempts >= ATTEMPTS {
        return roll_back(cache, payload, "failed to start twice").map(|()| 1);
    }
    fs::write(&marker, (attempts + 1).to_string()).ctx("write", &marker)?;
    let code = crate::run::app_and_wait(cache, env, &payload.manifest, argv0, args)
        .map_err(|e| Error::new(format!("cannot start Python: {}", crate::error::describe_io(&e))))?;
    // A native program or a plain script has no entry script to mark the
    // start: for them, ending well is the sign.
    let unmarked =
        matches!(payload.manifest.entry.kind, crate::manifest::EntryKind::Program | crate::manifest::EntryKind::Script);
    if unmarked && code == 0 {
        let _ = fs::remove_file(&marker);
    }
    if !marker.exists() {
        return Ok(code);
    }
    if attempts + 1 >= ATTEMPTS {
        roll_back(cache, payload, "failed to start twice")?;
    }
    Ok(code)
}

/// Puts the previous executable back over this one and marks this version bad.
pub fn roll_back(cache: &Cache, payload: &Payload, why: &str) -> Result<()> {
    let exe = &payload.path;
    let previous = previous_of(exe);
    let old = Payload::open(&previous).map_err(|_| {
        Error::new(format!(
            "{} {} {why}, and there is no previous release to go back to",
            payload.manifest.app, payload.manifest.version
        ))
        .with_hint("download a working release by hand")
    })?;
    if old.manifest.app != payload.manifest.app {
        return Err(Error::new(format!("{} is not a release of {}", previous.display(), payload.manifest.app))
            .with_hint("remove it and download a working release by hand"));
    }
    let _lock = cache.lock(&format!("update-{}", payload.manifest.app))?;
    let mut state = read_state(cache, &payload.manifest.app);
    if !state.bad.contains(&payload.manifest.version) {
        state.bad.push(payload.manifest.version.clone());
    }
    write_state(cache, &payload.manifest.app, &state)?;
    swap_in(&previous, exe)?;
    let _ = fs::remove_file(crate::env_path(cache, payload).join(PENDING));
    eprintln!(
        "{} {} {why}; back to {} (it will not be offered again)",
        payload.manifest.app, payload.manifest.version, old.manifest.version
    );
    Ok(())
}

/// `self rollback`.
pub fn rollback_command(cache: &Cache, payload: &Payload) -> Result<i32> {
    let previous = previous_of(&payload.path);
    if !previous.exists() {
        return Err(Error::new(format!("there is no previous release of {} to go back to", payload.manifest.app))
            .with_hint("a previous release is kept after `self update`"));
    }
    roll_back(cache, payload, "rolled back by hand")?;
    Ok(0)
}

/// Makes `from` the file at `exe`, keeping nothing of it at `from`
/// afterwards. One rename on Unix; Windows cannot replace a running
/// executable, so it is renamed aside first (and removed by a later run).
pub fn swap_in(from: &Path, exe: &Path) -> Result<()> {
    #[cfg(windows)]
    {
        let retired = retired_of(exe);
        let _ = fs::remove_file(&retired);
        crate::cache::rename(exe, &retired).ctx("move aside", exe)?;
        if let Err(e) = crate::cache::rename(from, exe) {
            let _ = crate::cache::rename(&retired, exe);
            return Err(Error::io("replace", exe, e));
        }
        Ok(())
    }
    #[cfg(not(windows))]
    {
        crate::cache::rename(from, exe).ctx("replace", exe)
    }
}

/// Removes what an earlier switch on Windows left (the executable that was running then).
pub fn sweep(exe: &Path) {
    if cfg!(windows) {
        let _ = fs::remove_file(retired_of(exe));
    }
}

/// Once a day at most, for builds that opted in: shows what the last
/// background check found, and starts the next one detached, so no start
/// ever waits for the network. `PYSEAL_NO_UPDATE_CHECK=1` turns it off.
pub fn background_check(cache: &Cache, payload: &Payload) {
    if std::env::var_os("PYSEAL_NO_UPDATE_CHECK").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    let m = &payload.manifest;
    let dir = cache.root.join("updates").join(&m.app);
    let available = dir.join("available");
    if let Ok(version) = fs::read_to_string(&available) {
        let _ = fs::remove_file(&available);
        let version = crate::error::printable(version.trim());
        if version != m.version {
            eprintln!("{} {version} is available: run `{} {} update`", m.app, payload.path.display(), m.self_command);
        }
    }
    let stamp = dir.join("checked");
    let fresh = fs::metadata(&stamp)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < std::time::Duration::from_secs(24 * 3600));
    if fresh || crate::cache::create_private_dir(&dir).is_err() || fs::write(&stamp, b"").is_err() {
        return;
    }
    let Some(tool) = m.tool_blob() else { return };
    if crate::blobs::ensure_these(cache, payload, vec![tool], crate::blobs::Mode::Missing).is_err() {
        return;
    }
    let mut command = std::process::Command::new(cache.blob(&tool.sha256).join(crate::TOOL_NAME));
    command
        .arg(crate::UPDATE_FLAG)
        .arg(&payload.path)
        .arg("--background")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own session: it outlives the app and no terminal signal reaches it.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(DETACHED_PROCESS | CREATE_NO_WINDOW);
    }
    let _ = command.spawn();
}
