//! Compiles the .proto files in ../../proto with protox (pure Rust, no protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let files = [
        "yandex/cloud/billing/v1/customer_service.proto",
        "yandex/cloud/billing/v1/billing_account_service.proto",
        "yandex/cloud/operation/operation_service.proto",
        "yandex/cloud/endpoint/api_endpoint_service.proto",
        "yandex/cloud/iam/v1/iam_token_service.proto",
        "google/rpc/status.proto",
    ];
    let descriptors = protox::compile(files, [root])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={root}");
    Ok(())
}
