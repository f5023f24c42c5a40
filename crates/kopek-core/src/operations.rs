//! Operations as Yandex's OperationService shows them: an admin reads any; a
//! reseller those that touched its own resources, and nothing else, existing or not.

use crate::Core;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
use kopek_domain::customer::id_rule;
use kopek_store::operations::{self, Operation};

/// An operation the caller may read.
pub async fn visible(core: &Core, caller: &Principal, id: &str) -> Result<Operation, Error> {
    id_rule("operationId", id).map_err(|e| Error::Validation(vec![e]))?;
    let mut conn = core.store.conn().await?;
    let op = operations::get(&mut conn, id).await?;
    match op {
        Some(op)
            if caller.is_admin()
                || op
                    .reseller_id
                    .as_ref()
                    .is_some_and(|r| caller.may_act_for(Role::Reseller, r.as_str())) =>
        {
            Ok(op)
        }
        _ if !caller.is_admin() => Err(Error::Forbidden),
        _ => Err(Error::NotFound {
            what: "operation",
            id: id.to_owned(),
        }),
    }
}
