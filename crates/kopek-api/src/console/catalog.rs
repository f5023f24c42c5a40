//! The catalog: its versions, one shown as products, plans and prices, a line
//! diff between two, and (for an admin) a new version uploaded as JSON, checked by
//! the operator API's own rules with every error shown beside the text, which is
//! kept. Loading it is the operator API's use case, audited with the catalog
//! before and after.

use super::prelude::*;
use crate::operator_views::CatalogVersion;
use kopek_core::write::Ran;
use kopek_domain::Error;
use kopek_domain::catalog::Catalog;
use maud::{Markup, html};

const CATALOG: &str = "/console/catalog";

/// The longest document a form may carry, in bytes (the JSON body limit's).
const MAX_DOCUMENT: usize = 1 << 20;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Shown {
    /// The version to show; the newest when absent.
    version: Option<i64>,
    /// A version to compare it with, line by line.
    compare: Option<i64>,
}

fn pretty(catalog: &Catalog) -> String {
    serde_json::to_string_pretty(catalog).unwrap_or_default()
}

/// One line of a diff.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Same(&'a str),
    Gone(&'a str),
    Added(&'a str),
}

/// The lines of `old` and `new` as a diff: a longest common subsequence, the
/// catalogs being a few thousand lines at most.
fn diff<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut common = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push(Line::Same(a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || common[i][j + 1] >= common[i + 1][j]) {
            lines.push(Line::Added(b[j]));
            j += 1;
        } else {
            lines.push(Line::Gone(a[i]));
            i += 1;
        }
    }
    lines
}

fn products(catalog: &Catalog) -> Markup {
    let lang = RequestContext::current().lang;
    html! {
        @for product in &catalog.products {
            h2 { (product.name) " · " (product.code) }
            table {
                thead { tr {
                    th { (pick("Plan", "Тариф")) } th { (pick("VAT", "НДС")) } th.num { (pick("Months", "Месяцев")) }
                    th.num { (pick("List price", "Цена")) } th.num { (pick("Price", "Цена со скидкой")) }
                } }
                tbody {
                    @for plan in &product.plans {
                        @for period in &plan.periods {
                            tr {
                                td { (plan.name) " · " (plan.code) }
                                td { (format!("{:?}", plan.vat)) }
                                td.num { (period.period_in_months) }
                                td.num { (money(period.list_price(), lang)) }
                                td.num { (money(period.price(), lang)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The page: the versions, the one shown (or a diff), and the upload form with
/// `text` and the `errors` of its last try.
async fn render(
    state: &AppState,
    signed: &Signed,
    shown: &Shown,
    upload: Option<(&str, Vec<String>)>,
) -> Response {
    let guard = signed.guard(state);
    let (draft, errors) = match upload {
        Some((text, errors)) => (Some(text), errors),
        None => (None, Vec::new()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let versions = match kopek_core::catalog::versions(&state.core).await {
        Ok(versions) => versions,
        Err(e) => return failed(&e),
    };
    let Some(newest) = versions.first().map(|v| v.0) else {
        let form = upload_form(&guard, signed, draft.unwrap_or_default(), errors);
        let body = html! {
            p.muted { (pick("No catalog loaded yet.", "Каталог ещё не загружен.")) }
            (form)
        };
        return page(guard, signed, status, body);
    };
    let version = shown.version.unwrap_or(newest);
    let catalog = match kopek_core::catalog::version(&state.core, version).await {
        Ok(catalog) => catalog,
        Err(e) => return failed(&e),
    };
    let compared = match shown.compare {
        Some(other) => match kopek_core::catalog::version(&state.core, other).await {
            Ok(old) => Some((other, pretty(&old))),
            Err(e) => return failed(&e),
        },
        None => None,
    };
    let text = pretty(&catalog);
    let form = upload_form(&guard, signed, draft.unwrap_or(&text), errors);
    let body = html! {
        table {
            thead { tr { th { (pick("Version", "Версия")) } th { (pick("Loaded", "Загружена")) } th {} } }
            tbody {
                @for (v, at) in &versions {
                    tr {
                        td { a href={(CATALOG) "?version=" (v)} { (v) } @if *v == newest { " · " (pick("in force", "действует")) } }
                        td { (at.rfc3339()) }
                        td { @if *v != version {
                            a href={(CATALOG) "?version=" (version) "&compare=" (v)} { (pick("compare with the shown", "сравнить с показанной")) }
                        } }
                    }
                }
            }
        }
        @if let Some((other, old)) = &compared {
            h2 { (pick("Changes from version", "Изменения от версии")) " " (other) " " (pick("to", "к")) " " (version) }
            pre.diff {
                @for line in diff(old, &text) {
                    @match line {
                        Line::Same(l) => { span { "  " (l) } "\n" }
                        Line::Gone(l) => { del data-diff="gone" { "- " (l) } "\n" }
                        Line::Added(l) => { ins data-diff="added" { "+ " (l) } "\n" }
                    }
                }
            }
        } @else {
            p.muted { (pick("Version", "Версия")) " " (version) }
            (products(&catalog))
        }
        (form)
    };
    page(guard, signed, status, body)
}

fn page(guard: Guard, signed: &Signed, status: StatusCode, body: Markup) -> Response {
    console_page(
        guard,
        status,
        pick("Catalog", "Каталог"),
        Some(signed),
        body,
    )
}

fn upload_form(guard: &Guard, signed: &Signed, text: &str, errors: Vec<String>) -> Markup {
    html! {
        @if signed.operator.role.may_act() {
            h2 { (pick("Load a new version", "Загрузить новую версию")) }
            @for error in &errors { p.alert data-error { (error) } }
            form.upload method="post" action=(CATALOG) {
                input type="hidden" name="csrf" value=(guard.token);
                textarea name="catalog" rows="20" spellcheck="false" { (text) }
                button type="submit" { (pick("Load", "Загрузить")) }
            }
        }
    }
}

#[utoipa::path(get, path = "/console/catalog", tag = "console", operation_id = "consoleCatalog",
    params(Shown),
    responses(
        (status = 200, description = "The catalog's versions, one shown or two compared, and for an admin the form for a new one", content_type = "text/html", body = String),
        (status = 400, description = "A version that is not a number", content_type = "text/html", body = String),
        (status = 404, description = "No such version", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Query(shown): Query<Shown>,
) -> Response {
    render(&state, &signed, &shown, None).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UploadForm {
    /// The whole catalog as JSON, as `PUT /admin/v1/catalog` takes it.
    catalog: String,
    csrf: String,
}

guarded!(UploadForm);

#[utoipa::path(post, path = "/console/catalog", tag = "console", operation_id = "consoleLoadCatalog",
    request_body(content = UploadForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Loaded (or equal to the one in force): on to the version in force"),
        (status = 400, description = "A document that is not a valid catalog: the form again with each error", content_type = "text/html", body = String),
        MayNotAct,
    ))]
pub async fn load(State(state): State<AppState>, acting: Acting<UploadForm>) -> Response {
    let lang = RequestContext::current().lang;
    let parsed = if acting.form.catalog.len() > MAX_DOCUMENT {
        Err(vec![
            pick(
                "The document is longer than 1 MiB.",
                "Документ длиннее 1 МиБ.",
            )
            .to_owned(),
        ])
    } else {
        serde_json::from_str::<Catalog>(&acting.form.catalog).map_err(|e| {
            vec![format!(
                "{} {}, {} {}: {e}",
                pick("Line", "Строка"),
                e.line(),
                pick("column", "столбец"),
                e.column()
            )]
        })
    };
    let errors = match parsed {
        Err(errors) => errors,
        Ok(catalog) => {
            let loaded = kopek_core::operator::replace_catalog(
                &state.core,
                acting.write,
                &acting.principal,
                catalog,
                StatusCode::OK.as_u16(),
                |version, created, catalog| CatalogVersion {
                    version,
                    created: Some(created),
                    catalog,
                },
            )
            .await;
            match loaded {
                Ok(Ran::Done(loaded, _)) => {
                    return see_other(&format!("{CATALOG}?version={}", loaded.version));
                }
                Ok(Ran::Replayed(_)) => return see_other(CATALOG),
                Err(Error::Validation(violations)) => {
                    violations.iter().map(|v| v.message(lang)).collect()
                }
                Err(e) => return failed(&e),
            }
        }
    };
    // The form again, with the document as sent and each error.
    let shown = Shown {
        version: None,
        compare: None,
    };
    render(
        &state,
        &acting.actor.signed,
        &shown,
        Some((&acting.form.catalog, errors)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_keeps_order_and_marks_each_line() {
        let old = "a\nb\nc\nd";
        let new = "a\nc\nx\nd\ne";
        assert_eq!(
            diff(old, new),
            [
                Line::Same("a"),
                Line::Gone("b"),
                Line::Same("c"),
                Line::Added("x"),
                Line::Same("d"),
                Line::Added("e"),
            ]
        );
        assert_eq!(diff("", "a"), [Line::Added("a")]);
        assert_eq!(diff("a", ""), [Line::Gone("a")]);
    }
}
