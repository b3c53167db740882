// manifests/ is compiled into the binary (include_dir): rebuild when any file in it changes.
fn main() {
    println!("cargo:rerun-if-changed=manifests");
}
