//! The pyseal launcher: reads the payload attached to its own executable, sets up
//! the application in the per-user cache on first run, and hands over to Python.
//!
//! The same library is linked into the native addon, so the build tool writes
//! payloads with exactly the code that reads them.

pub mod archive;
pub mod blobs;
pub mod cache;
#[cfg(feature = "lazy")]
pub mod download;
pub mod environment;
pub mod error;
#[cfg(all(windows, feature = "gui"))]
mod gui;
pub mod manifest;
#[cfg(feature = "writer")]
pub mod pack;
pub mod payload;
pub mod run;
pub mod self_command;
pub mod update;
#[cfg(feature = "wheel")]
pub mod wheel;

use std::ffi::OsString;
use std::path::PathBuf;

use cache::Cache;
use error::{Error, Result};
use payload::Payload;

/// The launcher's whole job. Returns the exit code to end with; on Unix a
/// successful start never returns (the process becomes Python).
pub fn launch() -> Result<i32> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(format!("cannot find this executable's own path: {}", error::describe_io(&e))))?;
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let args: Vec<OsString> = args.collect();
    // A bare launcher (no payload of its own) run by a lazy executable's
    // launcher to do its first-run installation (or a `self restore`).
    #[cfg(feature = "lazy")]
    if args.len() >= 2 && args[0] == UPDATE_FLAG && !payload::has_trailer(&exe) {
        return update::apply::run(&Cache::locate()?, std::path::Path::new(&args[1]), &args[2..]);
    }
    if args.len() == 2 && (args[0] == INSTALL_FLAG || args[0] == RESTORE_FLAG) && !payload::has_trailer(&exe) {
        let target = Payload::open(std::path::Path::new(&args[1]))?;
        let mode = if args[0] == RESTORE_FLAG { blobs::Mode::Replace } else { blobs::Mode::Missing };
        install_with(&Cache::locate()?, &target, mode)?;
        return Ok(0);
    }
    let payload = Payload::open(&exe)?;
    let cache = Cache::locate()?;
    if args.first().is_some_and(|a| *a == *payload.manifest.self_command) {
        return self_command::run(&cache, &payload, &args[1..]);
    }
    let env = env_path(&cache, &payload);
    // Warm path: the environment's marker and its blobs (one stat each), then
    // exec. A blob deleted by hand is put back, whichever it was.
    if !environment::is_complete(&env) || blobs::any_needed_missing(&cache, &payload) {
        install(&cache, &payload)?;
    }
    // An updatable build's first starts after an update are watched (one more stat otherwise).
    if let Some(config) = &payload.manifest.update {
        update::sweep(&payload.path);
        if config.check_daily {
            update::background_check(&cache, &payload);
        }
        if update::pending(&env) {
            return update::start_pending(&cache, &payload, &env, argv0, args);
        }
    }
    run::app(&cache, &env, &payload.manifest, argv0, args).map_err(|e| start_failed(&cache, &payload, &env, e))
}

pub fn env_path(cache: &Cache, payload: &Payload) -> PathBuf {
    let m = &payload.manifest;
    cache.env(&m.app, &m.version, payload.build_id())
}

/// The argument that asks a bare launcher to install another executable's payload.
pub const INSTALL_FLAG: &str = "--pyseal-install";
/// The same, replacing every blob (`self restore`).
pub const RESTORE_FLAG: &str = "--pyseal-restore";
/// The argument that asks the network tool to update another executable (`self update`).
pub const UPDATE_FLAG: &str = "--pyseal-update";

/// First-run set-up: blobs, then the environment.
pub fn install(cache: &Cache, payload: &Payload) -> Result<()> {
    install_with(cache, payload, blobs::Mode::Missing)
}

/// Set-up with missing blobs extracted, or every blob replaced after it is
/// verified. Holds the cache's collection lock shared, so `self remove` of
/// another app cannot delete blobs under us.
pub fn install_with(cache: &Cache, payload: &Payload, mode: blobs::Mode) -> Result<()> {
    let _gc = cache.lock_shared("gc")?;
    if !cfg!(feature = "lazy") && payload.manifest.is_lazy() {
        return delegate_install(cache, payload, mode);
    }
    let all = payload.manifest.blobs.iter().collect();
    blobs::ensure_these(cache, payload, all, mode)?;
    environment::ensure(cache, &payload.manifest, &env_path(cache, payload), payload.build_id())
}

/// A lazy executable's launcher has no network code: it unpacks the embedded
/// network-capable launcher (a verified blob like any other, shared by every
/// lazy app) and lets it do the installation. The caller holds the `gc` lock
/// shared, so the tool cannot be collected while it runs.
fn delegate_install(cache: &Cache, payload: &Payload, mode: blobs::Mode) -> Result<()> {
    let tool = payload.manifest.tool_blob().ok_or_else(|| {
        Error::corrupt(format!(
            "{} fetches files on first run but carries no installer for them",
            payload.path.display()
        ))
        .with_hint("build it again with pyseal build --mode lazy")
    })?;
    let flag = if mode == blobs::Mode::Replace { RESTORE_FLAG } else { INSTALL_FLAG };
    run_tool(cache, payload, tool, &[flag.into(), payload.path.clone().into_os_string()])
}

/// Runs the network tool with `args` and ends as it ends.
pub fn run_tool(cache: &Cache, payload: &Payload, tool: &manifest::Blob, args: &[OsString]) -> Result<()> {
    blobs::ensure_these(cache, payload, vec![tool], blobs::Mode::Missing)?;
    let program = cache.blob(&tool.sha256).join(TOOL_NAME);
    let mut command = std::process::Command::new(&program);
    command.args(args);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // The installer ends with its launcher; whatever it leaves is
        // unfinished work the next run cleans up.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let status = command
        .status()
        .map_err(|e| Error::new(format!("cannot run {}: {}", program.display(), error::describe_io(&e))))?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(Error::reported(code.unwrap_or(1))),
    }
}

/// The file name of the network-capable launcher inside its blob.
pub const TOOL_NAME: &str = if cfg!(windows) { "pyseal-launcher.exe" } else { "pyseal-launcher" };

fn start_failed(cache: &Cache, payload: &Payload, env: &std::path::Path, e: std::io::Error) -> Error {
    let program = run::Interpreter::of(cache, &payload.manifest, env).program;
    let error = Error::new(format!("cannot start {}: {}", program.display(), error::describe_io(&e)));
    // Windows starts no program by a path of MAX_PATH or more (see run::startable).
    if cfg!(windows) && program.as_os_str().len() >= 260 {
        return error.with_hint(
            "the cache is too deep for Windows to start Python from it: set PYSEAL_HOME to a shorter directory",
        );
    }
    error.with_hint(format!(
        "run `{} {} restore` to reinstall it",
        payload.path.display(),
        payload.manifest.self_command
    ))
}

/// Prints an error the way every pyseal tool does: one line, then a hint. A
/// Windows `--gui` launcher has no console: it shows them in a message box and
/// appends them to `%LOCALAPPDATA%\pyseal\errors.log`.
pub fn report(e: &Error) {
    if e.reported.is_some() {
        return;
    }
    #[cfg(all(windows, feature = "gui"))]
    gui::report(&error::printable(&e.message), e.hint.as_deref().map(error::printable).as_deref());
    // Messages quote names and URLs from payloads: nothing in them may act on the terminal.
    #[cfg(not(all(windows, feature = "gui")))]
    {
        eprintln!("error: {}", error::printable(&e.message));
        if let Some(hint) = &e.hint {
            eprintln!("hint: {}", error::printable(hint));
        }
    }
}
