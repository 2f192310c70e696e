//! The `ktix` command-line tool.
fn main() {
    println!("ktix {}", env!("CARGO_PKG_VERSION"));
}
