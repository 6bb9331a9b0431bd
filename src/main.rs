//! `onepoint`: see `cli` for what it does.

fn main() {
    std::process::exit(onepoint::cli::main());
}
