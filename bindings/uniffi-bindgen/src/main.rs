//! Generates Kotlin and Swift from the compiled `faceid-ffi` library. Built from the workspace so
//! the generator always matches the scaffolding (uniffi is pinned exactly in Cargo.toml).
fn main() {
    uniffi::uniffi_bindgen_main()
}
