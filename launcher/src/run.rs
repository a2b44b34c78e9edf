//! Handing the process over to Python.
//!
//! On Unix the launcher execs, so the application owns the process: its exit code,
//! signals and terminal are the user's, with nothing of ours left in between. On
//! Windows it waits and forwards the exit code.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::environment;
use crate::manifest::{EntryKind, Manifest};

/// Runs `env`'s interpreter with `args`. Returns only if it could not be started
/// (Unix) or with the exit code it ended with (elsewhere).
pub fn python(env: &Path, args: Vec<OsString>) -> std::io::Result<i32> {
    let mut cmd = Command::new(environment::python(env));
    cmd.args(args);
    // A PYTHONHOME meant for another Python would send ours looking for its
    // standard library in the wrong place.
    cmd.env_remove("PYTHONHOME");
    hand_over(cmd)
}

/// Runs the application's entry point with the user's arguments.
pub fn app(env: &Path, manifest: &Manifest, argv0: OsString, args: Vec<OsString>) -> std::io::Result<i32> {
    match (manifest.entry.kind, environment::entry_file(env, manifest)) {
        // A native program from the app's scripts: it becomes the process, with
        // the name the user typed, and no Python starts at all.
        (EntryKind::Program, Some(program)) => {
            let mut cmd = Command::new(program);
            cmd.args(args);
            set_arg0(&mut cmd, argv0);
            hand_over(cmd)
        }
        (EntryKind::Script, Some(script)) => {
            let mut all = Vec::with_capacity(args.len() + 1);
            all.push(script.into_os_string());
            all.extend(args);
            python(env, all)
        }
        _ => {
            let mut all = Vec::with_capacity(args.len() + 2);
            all.push(environment::entry_script(env).into_os_string());
            all.push(argv0);
            all.extend(args);
            python(env, all)
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
fn hand_over(mut cmd: Command) -> std::io::Result<i32> {
    let status = cmd.status()?;
    Ok(status.code().unwrap_or(1))
}
