// A `--gui` build for Windows opens no console window (its errors go to a message box).
#![cfg_attr(all(windows, feature = "gui"), windows_subsystem = "windows")]

fn main() {
    // Rust ignores SIGPIPE; restore the default a shell gives every program, so
    // `EXE self info | head` ends quietly and Python starts as it would from a shell.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let code = match pyseal_launcher::launch() {
        Ok(code) => code,
        Err(e) => {
            pyseal_launcher::report(&e);
            e.reported.unwrap_or(1)
        }
    };
    std::process::exit(code);
}
