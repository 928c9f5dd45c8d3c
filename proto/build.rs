//! Compiles the contracts with protox (pure Rust, no `protoc`) and generates
//! prost messages and tonic clients/servers into `OUT_DIR`, together with the
//! encoded descriptor set that server reflection serves.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "aftercare/common/v1/common.proto",
    "aftercare/orders/v1/orders.proto",
    "aftercare/returns/v1/returns.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=aftercare");

    let fds = protox::compile(FILES, ["."])?;
    std::fs::write(
        out_dir.join("aftercare_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
