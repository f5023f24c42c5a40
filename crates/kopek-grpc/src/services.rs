//! The services. Each method authenticates the `authorization: Bearer` metadata
//! (ApiEndpointService and IamTokenService excepted, as in Yandex Cloud, since an
//! SDK calls them before it has a token), honours `idempotency-key` metadata like
//! the REST header, and calls the shared code of the REST handlers.

use crate::convert;
use crate::proto::yandex::cloud::billing::v1 as billing;
use crate::proto::yandex::cloud::endpoint;
use crate::proto::yandex::cloud::iam::v1 as iam;
use crate::proto::yandex::cloud::operation;
use crate::status::to_status;
use billing::billing_account_service_server::{BillingAccountService, BillingAccountServiceServer};
use billing::customer_service_server::{CustomerService, CustomerServiceServer};
use endpoint::api_endpoint_service_server::{ApiEndpointService, ApiEndpointServiceServer};
use iam::iam_token_service_server::{IamTokenService, IamTokenServiceServer};
use kopek_core::Core;
use kopek_core::auth::{authenticate, bearer_token, exchange_api_key};
use kopek_core::paging::PageQuery;
use kopek_core::write::{IDEMPOTENCY_KEY, Ran, Write, idempotency_key, request_hash};
use kopek_core::{billing_accounts, customers, operations};
use kopek_domain::customer::{NewCustomer, Onboarding, Person};
use kopek_domain::{Error, Reason};
use kopek_store::operations::Operation;
use operation::operation_service_server::{OperationService, OperationServiceServer};
use prost::Message;
use std::future::Future;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// The ids an SDK asks ApiEndpointService for; every one is answered with Kopek.
const ENDPOINT_IDS: [&str; 6] = [
    "billing",
    "operation",
    "iam",
    "endpoint",
    "resourcemanager",
    "resource-manager",
];

#[derive(Clone)]
pub struct Services {
    core: Core,
    /// The `host:port` SDKs should connect to (what the certificate names).
    public_address: String,
}

type Answer<T> = Result<Response<T>, Status>;

impl Services {
    pub fn new(core: Core, public_address: String) -> Services {
        Services {
            core,
            public_address,
        }
    }

    async fn caller<T>(
        &self,
        request: &Request<T>,
    ) -> Result<kopek_domain::auth::Principal, Status> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        authenticate(&self.core, token).await.map_err(to_status)
    }

    /// The write a request is, keyed by its `idempotency-key` metadata.
    fn write<T: Message>(&self, request: &Request<T>, rpc: &str) -> Result<Write, Status> {
        let key = request
            .metadata()
            .get(IDEMPOTENCY_KEY)
            .map(|v| idempotency_key(v.as_bytes()))
            .transpose()
            .map_err(to_status)?;
        // Only a request with an idempotency key is ever compared by its hash.
        let hash = match key {
            Some(_) => request_hash("gRPC", rpc, &request.get_ref().encode_to_vec()),
            None => String::new(),
        };
        Ok(self.core.write(key, hash))
    }
}

fn person(p: Option<billing::CustomerPerson>) -> Option<Person> {
    p.map(|p| Person {
        name: p.name,
        longname: p.longname,
        phone: p.phone,
        email: p.email,
        post_code: p.post_code,
        post_address: p.post_address,
        legal_address: p.legal_address,
        tin: p.tin,
    })
}

/// A customer operation as gRPC answers it. What idempotency stores for a gRPC
/// call is the operation itself, so a repeat converts the same typed value.
fn done(ran: Result<Ran<Operation>, Error>) -> Answer<operation::Operation> {
    let op = ran.and_then(|r| r.into_value()).map_err(to_status)?;
    Ok(Response::new(convert::operation(&op)))
}

#[tonic::async_trait]
impl CustomerService for Services {
    async fn list(
        &self,
        request: Request<billing::ListCustomersRequest>,
    ) -> Answer<billing::ListCustomersResponse> {
        let caller = self.caller(&request).await?;
        let r = request.into_inner();
        let (rows, next_page_token) = customers::list(
            &self.core,
            &caller,
            &r.reseller_id,
            &PageQuery {
                page_size: Some(r.page_size),
                page_token: Some(r.page_token),
            },
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(billing::ListCustomersResponse {
            customers: rows
                .into_iter()
                .map(|c| billing::Customer {
                    id: c.id.into(),
                    billing_account_id: c.billing_account_id.into(),
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn invite(
        &self,
        request: Request<billing::InviteCustomerRequest>,
    ) -> Answer<operation::Operation> {
        self.create(request, "Invite", |r| {
            NewCustomer::parse(
                Onboarding::Invite,
                r.reseller_id,
                r.name,
                r.invitation_email,
                person(r.person),
            )
        })
        .await
    }

    async fn create_reseller_served(
        &self,
        request: Request<billing::CreateResellerServedCustomerRequest>,
    ) -> Answer<operation::Operation> {
        self.create(request, "CreateResellerServed", |r| {
            NewCustomer::parse(
                Onboarding::ResellerServed,
                r.reseller_id,
                r.name,
                String::new(),
                person(r.person),
            )
        })
        .await
    }

    async fn activate(
        &self,
        request: Request<billing::ActivateCustomerRequest>,
    ) -> Answer<operation::Operation> {
        let id = request.get_ref().customer_id.clone();
        self.change(request, "Activate", &id, customers::Change::Activate)
            .await
    }

    async fn suspend(
        &self,
        request: Request<billing::SuspendCustomerRequest>,
    ) -> Answer<operation::Operation> {
        let id = request.get_ref().customer_id.clone();
        self.change(request, "Suspend", &id, customers::Change::Suspend)
            .await
    }
}

/// CustomerService's full method names, for idempotency hashes.
const CUSTOMER_SERVICE: &str = "/yandex.cloud.billing.v1.CustomerService/";

impl Services {
    async fn create<T: Message>(
        &self,
        request: Request<T>,
        method: &str,
        parse: impl FnOnce(T) -> Result<NewCustomer, Error>,
    ) -> Answer<operation::Operation> {
        let caller = self.caller(&request).await?;
        let write = self.write(&request, &format!("{CUSTOMER_SERVICE}{method}"))?;
        let new = parse(request.into_inner()).map_err(to_status)?;
        done(customers::create(&self.core, write, &caller, new, 200, Operation::clone).await)
    }

    async fn change<T: Message>(
        &self,
        request: Request<T>,
        method: &str,
        customer_id: &str,
        change: customers::Change,
    ) -> Answer<operation::Operation> {
        let caller = self.caller(&request).await?;
        let write = self.write(&request, &format!("{CUSTOMER_SERVICE}{method}"))?;
        done(
            customers::change(
                &self.core,
                write,
                &caller,
                customer_id,
                change,
                200,
                Operation::clone,
            )
            .await,
        )
    }
}

#[tonic::async_trait]
impl OperationService for Services {
    async fn get(
        &self,
        request: Request<operation::GetOperationRequest>,
    ) -> Answer<operation::Operation> {
        let id = request.get_ref().operation_id.clone();
        self.operation(&request, &id).await
    }

    /// Operations are done when returned: Cancel returns the operation unchanged.
    async fn cancel(
        &self,
        request: Request<operation::CancelOperationRequest>,
    ) -> Answer<operation::Operation> {
        let id = request.get_ref().operation_id.clone();
        self.operation(&request, &id).await
    }
}

impl Services {
    async fn operation<T>(&self, request: &Request<T>, id: &str) -> Answer<operation::Operation> {
        let caller = self.caller(request).await?;
        let op = operations::visible(&self.core, &caller, id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::operation(&op)))
    }
}

#[tonic::async_trait]
impl BillingAccountService for Services {
    async fn get(
        &self,
        request: Request<billing::GetBillingAccountRequest>,
    ) -> Answer<billing::BillingAccount> {
        let caller = self.caller(&request).await?;
        let id = request.into_inner().id;
        let account = billing_accounts::get(&self.core, &caller, &id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::billing_account(&account)))
    }

    async fn list(
        &self,
        request: Request<billing::ListBillingAccountsRequest>,
    ) -> Answer<billing::ListBillingAccountsResponse> {
        let caller = self.caller(&request).await?;
        let r = request.into_inner();
        let (accounts, next_page_token) = billing_accounts::list(
            &self.core,
            &caller,
            &PageQuery {
                page_size: Some(r.page_size),
                page_token: Some(r.page_token),
            },
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(billing::ListBillingAccountsResponse {
            billing_accounts: accounts.iter().map(convert::billing_account).collect(),
            next_page_token,
        }))
    }
}

#[tonic::async_trait]
impl ApiEndpointService for Services {
    async fn get(
        &self,
        request: Request<endpoint::GetApiEndpointRequest>,
    ) -> Answer<endpoint::ApiEndpoint> {
        Ok(Response::new(endpoint::ApiEndpoint {
            id: request.into_inner().api_endpoint_id,
            address: self.public_address.clone(),
        }))
    }

    async fn list(
        &self,
        _request: Request<endpoint::ListApiEndpointsRequest>,
    ) -> Answer<endpoint::ListApiEndpointsResponse> {
        Ok(Response::new(endpoint::ListApiEndpointsResponse {
            endpoints: ENDPOINT_IDS
                .iter()
                .map(|id| endpoint::ApiEndpoint {
                    id: (*id).to_owned(),
                    address: self.public_address.clone(),
                })
                .collect(),
            next_page_token: String::new(),
        }))
    }
}

#[tonic::async_trait]
impl IamTokenService for Services {
    /// A Kopek API key, given where Yandex takes an OAuth token, buys a short-lived
    /// token (12 hours) that Kopek accepts as a bearer token.
    async fn create(
        &self,
        request: Request<iam::CreateIamTokenRequest>,
    ) -> Answer<iam::CreateIamTokenResponse> {
        use iam::create_iam_token_request::Identity;
        let key = match request.into_inner().identity {
            Some(Identity::YandexPassportOauthToken(token)) => token,
            Some(Identity::Jwt(_)) => {
                return Err(Status::unimplemented(
                    "service account JWTs are not supported; pass a Kopek API key as the OAuth token",
                ));
            }
            None => {
                return Err(to_status(Error::field(
                    "yandex_passport_oauth_token",
                    Reason::Required,
                )));
            }
        };
        let (token, expires_at) = exchange_api_key(&self.core, &key)
            .await
            .map_err(to_status)?;
        Ok(Response::new(iam::CreateIamTokenResponse {
            iam_token: token.expose().to_owned(),
            expires_at: convert::timestamp(expires_at),
        }))
    }
}

/// Serves every service on `listener`, over TLS when a PEM certificate and key are
/// given, in plaintext otherwise, until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    services: Services,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let mut builder = Server::builder();
    if let Some((cert, key)) = tls {
        builder =
            builder.tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))?;
    }
    builder
        .add_service(CustomerServiceServer::new(services.clone()))
        .add_service(OperationServiceServer::new(services.clone()))
        .add_service(BillingAccountServiceServer::new(services.clone()))
        .add_service(ApiEndpointServiceServer::new(services.clone()))
        .add_service(IamTokenServiceServer::new(services))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
