//! Puts a hash of the console's CSS and JS into `CONSOLE_ASSET_HASH`, so their URLs change
//! whenever their content does and browsers can cache them for a year.

fn main() {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in ["assets/console.css", "assets/console.js"] {
        println!("cargo:rerun-if-changed={file}");
        let bytes = std::fs::read(file).unwrap_or_default();
        for b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=CONSOLE_ASSET_HASH={hash:016x}");
}
