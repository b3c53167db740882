// manifests/ and the demo app's sources are compiled into the binary (include_dir, which
// cargo does not track by itself): rebuild when any file in them changes.
fn main() {
    println!("cargo:rerun-if-changed=manifests");
    println!("cargo:rerun-if-changed=demo-app/src");
    println!("cargo:rerun-if-changed=demo-app/Cargo.toml");
    println!("cargo:rerun-if-changed=demo-app/build.rs");
    println!("cargo:rerun-if-changed=demo-app/Dockerfile");
    println!("cargo:rerun-if-changed=demo-app/Dockerfile.prebuilt");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
}
