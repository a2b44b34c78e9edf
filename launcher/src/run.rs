//! Handing the process over to Python.
//!
//! On Unix the launcher execs, so the application owns the process: its exit code,
//! signals and terminal are the user's, with nothing of ours left in between.
//!
//! Windows has no exec: the launcher starts Python, ignores Ctrl-C itself (the
//! console delivers it to Python too, which raises KeyboardInterrupt), waits,
//! and ends with Python's exit code. Arguments keep their Windows quoting
//! (std quotes each one as the C runtime splits them). There is no venv
//! either (it needs symlinks or a copied redirector): Python is the
//! distribution's own, and finds the wheels through `PYTHONPATH`, which child
//! processes inherit (multiprocessing starts `sys.executable` again), while the
//! entry script also processes the wheels' `.pth` files.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::Cache;
use crate::environment;
use crate::manifest::{EntryKind, Manifest};

/// The interpreter of an installed release, and what it needs in its environment.
pub struct Interpreter {
    pub program: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Interpreter {
    pub fn of(cache: &Cache, manifest: &Manifest, env: &Path) -> Interpreter {
        #[cfg(not(windows))]
        {
            let _ = (cache, manifest);
            Interpreter { program: environment::python(env), env: Vec::new() }
        }
        #[cfg(windows)]
        {
            let _ = env;
            let dirs = environment::site_dirs(cache, manifest);
            let mut path = std::env::join_paths(&dirs).unwrap_or_default();
            if let Some(user) = std::env::var_os("PYTHONPATH").filter(|v| !v.is_empty()) {
                path.push(";");
                path.push(user);
            }
            Interpreter {
                program: startable(manifest.python.executable_in(&cache.blob(&manifest.python.blob))),
                env: vec![("PYTHONPATH".into(), path), ("PYTHONNOUSERSITE".into(), "1".into())],
            }
        }
    }
}

/// Runs the interpreter with `args`. Returns only if it could not be started
/// (Unix) or with the exit code it ended with (Windows).
pub fn python(interpreter: &Interpreter, args: Vec<OsString>) -> std::io::Result<i32> {
    hand_over(python_command(interpreter, args))
}

fn python_command(interpreter: &Interpreter, args: Vec<OsString>) -> Command {
    let mut cmd = Command::new(&interpreter.program);
    cmd.args(args);
    // A PYTHONHOME meant for another Python would send ours looking for its
    // standard library in the wrong place.
    cmd.env_remove("PYTHONHOME");
    cmd.envs(interpreter.env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Runs the application's entry point with the user's arguments.
pub fn app(
    cache: &Cache,
    env: &Path,
    manifest: &Manifest,
    argv0: OsString,
    args: Vec<OsString>,
) -> std::io::Result<i32> {
    app_with(cache, env, manifest, argv0, args, hand_over)
}

/// The same as a child the launcher waits for (a pending release's first starts).
pub fn app_and_wait(
    cache: &Cache,
    env: &Path,
    manifest: &Manifest,
    argv0: OsString,
    args: Vec<OsString>,
) -> std::io::Result<i32> {
    app_with(cache, env, manifest, argv0, args, wait_for)
}

fn app_with(
    cache: &Cache,
    env: &Path,
    manifest: &Manifest,
    argv0: OsString,
    args: Vec<OsString>,
    start: fn(Command) -> std::io::Result<i32>,
) -> std::io::Result<i32> {
    let interpreter = Interpreter::of(cache, manifest, env);
    match (manifest.entry.kind, environment::entry_file(cache, env, manifest)) {
        // A native program from the app's scripts: it becomes the process (on
        // Unix), with the name the user typed, and no Python starts at all.
        (EntryKind::Program, Some(program)) => {
            let mut cmd = Command::new(program);
            cmd.args(args);
            set_arg0(&mut cmd, argv0);
            start(cmd)
        }
        (EntryKind::Script, Some(script)) => {
            let mut all = Vec::with_capacity(args.len() + 1);
            all.push(script.into_os_string());
            all.extend(args);
            start(python_command(&interpreter, all))
        }
        _ => {
            let mut all = Vec::with_capacity(args.len() + 2);
            all.push(environment::entry_script(env).into_os_string());
            all.push(argv0);
            all.extend(args);
            start(python_command(&interpreter, all))
        }
    }
}

#[cfg(unix)]
fn set_arg0(cmd: &mut Command, argv0: OsString) {
    use std::os::unix::process::CommandExt;
    cmd.arg0(argv0);
}

#[cfg(not(unix))]
fn set_arg0(_cmd: &mut Command, _argv0: OsString) {}

#[cfg(unix)]
fn hand_over(mut cmd: Command) -> std::io::Result<i32> {
    use std::os::unix::process::CommandExt;
    Err(cmd.exec())
}

#[cfg(not(unix))]
fn hand_over(cmd: Command) -> std::io::Result<i32> {
    wait_for(cmd)
}

/// Starts the program and waits, ending with its exit code (a death by
/// signal as a shell reports it, 128 + the signal).
fn wait_for(mut cmd: Command) -> std::io::Result<i32> {
    let mut child = cmd.spawn()?;
    // Only after the start: the child would inherit the launcher's "ignore"
    // (and Python installs no KeyboardInterrupt handler for an ignored SIGINT).
    ignore_ctrl_c();
    let status = child.wait()?;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Ok(128 + signal);
        }
    }
    Ok(status.code().unwrap_or(1))
}

/// CreateProcess cannot start a program whose path passes MAX_PATH, even with
/// a `\\?\` prefix (the file APIs can; std uses them for everything else).
/// A cache that deep (a long `PYSEAL_HOME`) still works through the path's
/// 8.3 short form where the volume keeps one; where it does not, the long
/// path is tried and the error names it.
#[cfg(windows)]
fn startable(program: PathBuf) -> PathBuf {
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    const MAX_PATH: usize = 260;
    let wide: Vec<u16> = program.as_os_str().encode_wide().collect();
    if wide.len() < MAX_PATH {
        return program;
    }
    unsafe extern "system" {
        fn GetShortPathNameW(long: *const u16, short: *mut u16, len: u32) -> u32;
    }
    let verbatim: Vec<u16> = r"\\?\".encode_utf16().collect();
    let mut long: Vec<u16> = if wide.starts_with(&verbatim) {
        wide
    } else if wide.starts_with(&[92, 92]) {
        // \\server\share\... becomes \\?\UNC\server\share\...
        r"\\?\UNC".encode_utf16().chain(wide[1..].iter().copied()).collect()
    } else {
        verbatim.iter().copied().chain(wide).collect()
    };
    long.push(0);
    let mut short = vec![0u16; long.len()];
    let n = unsafe { GetShortPathNameW(long.as_ptr(), short.as_mut_ptr(), short.len() as u32) } as usize;
    if n == 0 || n >= short.len() {
        return program;
    }
    short.truncate(n);
    let unc: Vec<u16> = r"\\?\UNC\".encode_utf16().collect();
    let plain: Vec<u16> = if short.starts_with(&unc) {
        [92u16, 92].into_iter().chain(short[unc.len()..].iter().copied()).collect()
    } else if short.starts_with(&verbatim) {
        short[verbatim.len()..].to_vec()
    } else {
        short
    };
    if plain.len() >= MAX_PATH {
        return program;
    }
    PathBuf::from(OsString::from_wide(&plain))
}

/// Ctrl-C is for the program the launcher started: the console sends it to
/// both, and the launcher, which only waits, must not die of it first.
#[cfg(windows)]
fn ignore_ctrl_c() {
    unsafe extern "system" {
        fn SetConsoleCtrlHandler(handler: Option<unsafe extern "system" fn(u32) -> i32>, add: i32) -> i32;
    }
    unsafe {
        SetConsoleCtrlHandler(None, 1);
    }
}

#[cfg(unix)]
fn ignore_ctrl_c() {
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

#[cfg(not(any(unix, windows)))]
fn ignore_ctrl_c() {}
