//! Closing documents (УПД, and УКД correcting them) as the API shows them, and
//! their two files: the ФНС XML and the PDF. The operator's listing and the
//! buyer's own share this view and these downloads.

pub mod sheet;
pub mod statement;
pub mod upd;

use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use kopek_core::Core;
use kopek_core::closing::{self as closing_core, Download, Listed};
use kopek_domain::closing::Party;
use kopek_domain::ids::OrganizationId;
use kopek_domain::{Error, vat};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// `?organization=&from=&to=&status=&number=` beside the paging query.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClosingQuery {
    /// An organization's guid (the operator's listing only).
    pub organization: Option<String>,
    /// Documents dated on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Documents dated on or before this day.
    pub to: Option<String>,
    /// `issued` (in force), `corrected` (a correction followed) or `correction`
    /// (the corrections themselves).
    pub status: Option<String>,
    pub number: Option<String>,
}

impl ClosingQuery {
    pub fn into_core(self, organization: Option<String>) -> closing_core::Query {
        closing_core::Query {
            organization: organization.or(self.organization),
            from: self.from,
            to: self.to,
            status: self.status,
            number: self.number,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClosingDocumentView {
    pub id: String,
    /// `upd`, or `ukd` for a correction.
    pub kind: String,
    pub number: String,
    /// The document's date (`YYYY-MM-DD`): the day the service is rendered.
    pub date: String,
    /// `issued`, `corrected` (a correction followed) or `correction`.
    pub status: &'static str,
    pub invoice_guid: String,
    pub organization_guid: String,
    /// Which part of the invoice's period it documents (1 for a whole period).
    pub part: i64,
    pub corrects_id: Option<String>,
    pub corrected_by_id: Option<String>,
    pub service_start: String,
    pub service_end: String,
    pub currency: String,
    /// With VAT, in minor units; a correction's is the change (negative for a
    /// decrease).
    pub total: i64,
    pub vat: i64,
    /// `22%`, `20%`, `10%`, `0%` or `без НДС`.
    pub vat_rate: String,
    pub lines: Vec<LineView>,
    pub seller: PartyView,
    pub buyer: PartyView,
    /// Whether the XML can go through an EDO operator, and what keeps it back.
    pub edo: EdoView,
    /// The XML file's name (its ИдФайл and `.xml`).
    pub xml_file_name: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    pub name: String,
    pub quantity: i64,
    pub amount: i64,
    pub vat: i64,
    /// A correction's line: the amount and VAT before it.
    pub amount_before: Option<i64>,
    pub vat_before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartyView {
    pub name: String,
    pub inn: String,
    pub kpp: Option<String>,
    pub address: Option<String>,
    pub edo_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EdoView {
    pub ready: bool,
    /// What must be set first, e.g. `the buyer's edoId`.
    pub missing: Vec<String>,
}

/// A file's bytes, as the OpenAPI document describes a download.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBody(pub Vec<u8>);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClosingDocumentList {
    pub closing_documents: Vec<ClosingDocumentView>,
    pub next_page_token: String,
}

fn party(p: &Party) -> PartyView {
    PartyView {
        name: p.name.clone(),
        inn: p.inn.clone(),
        kpp: p.kpp.clone(),
        address: p.address.clone(),
        edo_id: p.edo_id.clone(),
    }
}

/// The rate as documents print it.
pub fn vat_rate(basis_points: i64, vat_payer: bool) -> String {
    if vat_payer {
        vat::percent(basis_points)
    } else {
        "без НДС".to_owned()
    }
}

pub fn view(l: &Listed) -> ClosingDocumentView {
    let d = &l.document;
    let mut missing: Vec<String> = Vec::new();
    if d.seller.edo_id.is_none() {
        missing.push("the seller's EDO id (KOPEK_SELLER_EDO_ID)".to_owned());
    }
    if d.buyer.edo_id.is_none() {
        missing.push("the buyer's edoId".to_owned());
    }
    let download = Download {
        listed: l.clone(),
        invoice_number: String::new(),
        invoice_date: d.created_at.date(),
    };
    missing.extend(upd::missing(&download).into_iter().map(str::to_owned));
    ClosingDocumentView {
        id: d.id.clone(),
        kind: d.kind.clone(),
        number: d.number.clone(),
        date: d.issued_on.clone(),
        status: match (d.kind.as_str(), &l.corrected_by) {
            ("ukd", _) => "correction",
            (_, Some(_)) => "corrected",
            _ => "issued",
        },
        invoice_guid: d.invoice_guid.to_string(),
        organization_guid: d.organization_guid.to_string(),
        part: d.part,
        corrects_id: d.corrects.clone(),
        corrected_by_id: l.corrected_by.clone(),
        service_start: d.service_start.rfc3339(),
        service_end: d.service_end.rfc3339(),
        currency: d.currency.code().to_owned(),
        total: d.total,
        vat: d.vat,
        vat_rate: vat_rate(d.vat_basis_points, d.seller.vat_payer),
        lines: d
            .lines
            .iter()
            .map(|line| LineView {
                name: line.name.clone(),
                quantity: line.quantity,
                amount: line.amount,
                vat: line.vat,
                amount_before: line.before.map(|b| b.amount),
                vat_before: line.before.map(|b| b.vat),
            })
            .collect(),
        seller: party(&d.seller),
        buyer: party(&d.buyer),
        edo: EdoView {
            ready: missing.is_empty(),
            missing,
        },
        xml_file_name: format!("{}.xml", upd::file_id(&download)),
        created_at: d.created_at.rfc3339(),
    }
}

/// What `/closing-documents/{id}` names: the document, its PDF or its XML.
pub enum Wanted {
    View(String),
    Pdf(String),
    Xml(String),
}

impl Wanted {
    pub fn of(segment: String) -> Wanted {
        if let Some(id) = segment.strip_suffix(".pdf") {
            Wanted::Pdf(id.to_owned())
        } else if let Some(id) = segment.strip_suffix(".xml") {
            Wanted::Xml(id.to_owned())
        } else {
            Wanted::View(segment)
        }
    }
}

/// Answers `/closing-documents/{segment}` for the operator (`organization`
/// None) or a buyer (its own documents only).
pub async fn answer(
    core: &Core,
    segment: String,
    organization: Option<&OrganizationId>,
) -> Result<Response, Error> {
    match Wanted::of(segment) {
        Wanted::View(id) => {
            let listed = closing_core::get(core, &id, organization).await?;
            Ok(crate::json::Json(view(&listed)).into_response())
        }
        Wanted::Pdf(id) => {
            let d = closing_core::download(core, &id, organization).await?;
            Ok(pdf(d).await?.into_response())
        }
        Wanted::Xml(id) => {
            let d = closing_core::download(core, &id, organization).await?;
            Ok(xml(&d)?.into_response())
        }
    }
}

/// One of a document's files, named as it is downloaded (and attached to mail).
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The document's PDF, rendered off the async threads.
pub async fn pdf(d: Download) -> Result<File, Error> {
    let name = format!("{}.pdf", d.listed.document.number);
    let bytes = kopek_core::cpu::run(move || sheet::render(&d)).await??;
    Ok(File {
        name,
        content_type: "application/pdf",
        bytes,
    })
}

/// The document's ФНС XML, or why it cannot be made yet.
pub fn xml(d: &Download) -> Result<File, Error> {
    Ok(File {
        name: format!("{}.xml", upd::file_id(d)),
        content_type: "application/xml; charset=windows-1251",
        bytes: upd::render(d)?,
    })
}

impl IntoResponse for File {
    fn into_response(self) -> Response {
        file(self.bytes, self.content_type, &self.name)
    }
}

fn file(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    response
}
