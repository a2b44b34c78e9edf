//! Errors of a Windows `--gui` launcher, which has no console to print them
//! to: a message box for the user, a line in a log file for later.

use std::ffi::c_void;
use std::io::Write;

#[link(name = "user32")]
unsafe extern "system" {
    fn MessageBoxW(window: *mut c_void, text: *const u16, caption: *const u16, kind: u32) -> i32;
}

const MB_ICONERROR: u32 = 0x10;

pub fn report(message: &str, hint: Option<&str>) {
    let text = match hint {
        Some(hint) => format!("{message}\n\n{hint}"),
        None => message.to_string(),
    };
    if let Some(dir) = std::env::var_os("LOCALAPPDATA").map(|d| std::path::PathBuf::from(d).join("pyseal")) {
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(mut log) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("errors.log")) {
            let _ = writeln!(log, "error: {message}{}", hint.map(|h| format!("\nhint: {h}")).unwrap_or_default());
        }
    }
    let wide = |s: &str| s.encode_utf16().chain(Some(0)).collect::<Vec<u16>>();
    let (text, caption) = (wide(&text), wide("pyseal"));
    unsafe {
        MessageBoxW(std::ptr::null_mut(), text.as_ptr(), caption.as_ptr(), MB_ICONERROR);
    }
}
