//! The Yandex Cloud gRPC services, so the official SDKs drive Kopek unchanged.
//! Every method calls the same use case in `kopek_core` as its REST twin.

pub mod proto {
    #![allow(clippy::all, missing_docs)]
    pub mod yandex {
        pub mod cloud {
            pub mod billing {
                pub mod v1 {
                    tonic::include_proto!("yandex.cloud.billing.v1");
                }
            }
            pub mod operation {
                tonic::include_proto!("yandex.cloud.operation");
            }
            pub mod endpoint {
                tonic::include_proto!("yandex.cloud.endpoint");
            }
            pub mod iam {
                pub mod v1 {
                    tonic::include_proto!("yandex.cloud.iam.v1");
                }
            }
        }
    }
    pub mod google {
        pub mod rpc {
            tonic::include_proto!("google.rpc");
        }
    }
}

mod convert;
mod services;
mod status;

pub use services::{Services, serve};
