//! The catalog in force, parsed once per version. Each use still asks the database
//! which version is newest (one indexed read), so a replacement by any process is
//! seen at once; only the parsing of an unchanged document is saved.

use kopek_domain::Error;
use kopek_domain::catalog::Catalog;
use kopek_store::{Conn, catalog};
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub struct CatalogCache {
    parsed: RwLock<Option<(i64, Arc<Catalog>)>>,
}

impl CatalogCache {
    pub async fn current(&self, conn: &mut Conn) -> Result<Option<(i64, Arc<Catalog>)>, Error> {
        let Some(version) = catalog::current_version(&mut *conn).await? else {
            return Ok(None);
        };
        Ok(Some((version, self.at(conn, version).await?)))
    }

    /// The catalog of `version`, read by the caller (for instance in the same
    /// statement as the organization), parsed only when it is not the cached one.
    pub async fn at(&self, conn: &mut Conn, version: i64) -> Result<Arc<Catalog>, Error> {
        if let Some((cached, parsed)) = self.parsed.read().map_err(Error::internal)?.as_ref()
            && *cached == version
        {
            return Ok(parsed.clone());
        }
        let parsed = Arc::new(
            catalog::get(conn, version)
                .await?
                .ok_or_else(|| Error::internal("the newest catalog version vanished"))?,
        );
        *self.parsed.write().map_err(Error::internal)? = Some((version, parsed.clone()));
        Ok(parsed)
    }
}

/// The catalog in force and its version; version 0, with no products, before any
/// catalog was loaded.
pub async fn in_force(core: &crate::Core) -> Result<(i64, Arc<Catalog>), Error> {
    let mut conn = core.store.conn().await?;
    Ok(core.catalog.current(&mut conn).await?.unwrap_or_else(|| {
        (
            0,
            Arc::new(Catalog {
                products: Vec::new(),
            }),
        )
    }))
}

/// Every version's number and when it was loaded, newest first.
pub async fn versions(
    core: &crate::Core,
) -> Result<Vec<(i64, kopek_domain::time::Timestamp)>, Error> {
    let mut conn = core.store.conn().await?;
    catalog::versions(&mut conn).await
}

/// The catalog of `version`; `NotFound` for a version never loaded.
pub async fn version(core: &crate::Core, version: i64) -> Result<Catalog, Error> {
    let mut conn = core.store.conn().await?;
    catalog::get(&mut conn, version)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "catalog version",
            id: version.to_string(),
        })
}
