fn main() {
    let code = match pyseal_launcher::launch() {
        Ok(code) => code,
        Err(e) => {
            pyseal_launcher::report(&e);
            1
        }
    };
    std::process::exit(code);
}
