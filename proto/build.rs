//! Compiles the contracts with protox (pure Rust, no `protoc`) and generates
//! prost messages and tonic clients/servers into `OUT_DIR`, together with the
//! encoded descriptor set that server reflection serves and the REST
//! gateway routes by (`google.api.http` options, vendored under `google/`). Messages get
//! `prost::Name`, whose full name is an event's topic.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "aftercare/common/v1/common.proto",
    "aftercare/orders/v1/orders.proto",
    "aftercare/orders/events/v1/events.proto",
    "aftercare/returns/v1/returns.proto",
    "aftercare/returns/events/v1/events.proto",
    "aftercare/loyalty/v1/loyalty.proto",
    "aftercare/loyalty/v1/store_credit.proto",
    "aftercare/loyalty/events/v1/events.proto",
    "aftercare/warranty/v1/warranty.proto",
    "aftercare/warranty/events/v1/events.proto",
    "aftercare/maintenance/v1/maintenance.proto",
    "aftercare/maintenance/events/v1/events.proto",
    "aftercare/feedback/v1/feedback.proto",
    "aftercare/feedback/events/v1/events.proto",
    "aftercare/insight/v1/insight.proto",
    "aftercare/events/v1/events.proto",
    "aftercare/events/v1/webhooks.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=aftercare");
    println!("cargo:rerun-if-changed=google");

    let mut compiler = protox::Compiler::new(["."])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(FILES)?;
    // Encoded by protox itself: re-encoding `prost_types` would drop the
    // extension options (`google.api.http`) the REST gateway reads.
    std::fs::write(
        out_dir.join("aftercare_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
