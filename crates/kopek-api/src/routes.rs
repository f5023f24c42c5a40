//! The router and the OpenAPI document from one list: each documented route is
//! served at the path its `#[utoipa::path]` names, so neither can drift from the
//! other.

use crate::AppState;
use axum::Router;
use axum::routing::MethodRouter;
use utoipa::openapi::path::Paths;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Components, OpenApi, RefOr};
use utoipa_axum::router::UtoipaMethodRouter;

pub use utoipa_axum::routes;

/// A router that keeps the documentation of what it serves.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
    documented: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Routes {
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Handlers made by [`routes!`], served at the path they document (one or more
    /// handlers of one path, each answering the methods it documents).
    pub fn api(mut self, (schemas, paths, methods): UtoipaMethodRouter<AppState>) -> Routes {
        for path in paths.paths.keys() {
            self.router = self.router.route(path, methods.clone());
            self.paths.push(path.clone());
        }
        self.document(schemas, paths)
    }

    /// A route whose handler reads a custom method off its last segment (Google's
    /// `{id}:activate`, served as `{segment}`), with the operations it dispatches
    /// to, each made by [`routes!`] on its own.
    pub fn dispatch<const N: usize>(
        mut self,
        path: &str,
        methods: MethodRouter<AppState>,
        operations: [UtoipaMethodRouter<AppState>; N],
    ) -> Routes {
        self.router = self.router.route(path, methods);
        self.paths.push(path.to_owned());
        for (schemas, paths, _) in operations {
            self = self.document(schemas, paths);
        }
        self
    }

    fn document(mut self, schemas: Vec<(String, RefOr<Schema>)>, paths: Paths) -> Routes {
        for (path, item) in paths.paths {
            match self.documented.paths.get_mut(&path) {
                Some(known) => known.merge_operations(item),
                None => {
                    self.documented.paths.insert(path, item);
                }
            }
        }
        self.schemas.extend(schemas);
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self.document(other.schemas, other.documented)
    }

    /// Merges a router made elsewhere that serves `path` and what lies below it.
    pub fn mount(mut self, path: &str, router: Router<AppState>) -> Routes {
        self.router = self.router.merge(router);
        self.paths.push(path.to_owned());
        self
    }

    /// Changes the router itself (a layer on these routes only).
    pub fn map(mut self, change: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Routes {
        self.router = change(self.router);
        self
    }

    /// The path patterns served, as axum writes them.
    pub fn served_paths(self) -> Vec<String> {
        self.paths
    }

    /// The documented operations and the schemas they use.
    pub fn documented(self) -> OpenApi {
        let mut document = OpenApi::default();
        document.paths = self.documented;
        document
            .components
            .get_or_insert_with(Components::new)
            .schemas
            .extend(self.schemas);
        document
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
