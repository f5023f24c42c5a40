//! Bank statement reconciliation: a 1C statement in windows-1251 with CRLF line
//! ends, as banks export it, imported over the operator API and from the command
//! line. A matched payment order pays its invoice; partial, excess, unknown-INN,
//! unnamed, doubly named, already paid, repeated and outgoing ones are listed and
//! pay nothing; the same file twice changes nothing.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{START_PLAN, Shop, create, ready, seed_request};
use crate::pages::{status_of, stored_payments};
use crate::subscriptions::invoice_action;
use reqwest::Method;
use serde_json::{Value, json};

/// The account of the seller the statement is for.
const OURS: &str = "40702810938000000001";
const BUYER_INN: &str = "7707083893";

/// One payment order, `to` our account (incoming) or from it.
struct Order<'a> {
    number: &'a str,
    kopecks: i64,
    payer_inn: &'a str,
    purpose: &'a str,
    incoming: bool,
}

/// A payment order into our account.
fn paid_in<'a>(number: &'a str, kopecks: i64, payer_inn: &'a str, purpose: &'a str) -> Order<'a> {
    Order {
        number,
        kopecks,
        payer_inn,
        purpose,
        incoming: true,
    }
}

fn roubles(kopecks: i64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

/// A statement file as a bank writes it: windows-1251, CRLF.
fn statement(day: &str, orders: &[Order]) -> Vec<u8> {
    let mut text = format!(
        "1CClientBankExchange\nВерсияФормата=1.03\nКодировка=Windows\nОтправитель=Бизнес Онлайн\n\
         Получатель=1С:Предприятие\nДатаНачала={day}\nДатаКонца={day}\nРасчСчет={OURS}\n\
         СекцияРасчСчет\nДатаНачала={day}\nДатаКонца={day}\nРасчСчет={OURS}\n\
         НачальныйОстаток=0.00\nКонецРасчСчет\n"
    );
    let other = "40702810600000054321";
    for o in orders {
        let (payer, payee, kind) = if o.incoming {
            (other, OURS, "Платежное поручение")
        } else {
            (OURS, other, "Банковский ордер")
        };
        text.push_str(&format!(
            "СекцияДокумент={kind}\nНомер={}\nДата={day}\nСумма={}\nПлательщикСчет={payer}\n\
             ДатаСписано=\nПлательщикИНН={}\nПлательщик1=ООО \"Плательщик\"\n\
             ПолучательСчет={payee}\nДатаПоступило={day}\nПолучательИНН=7704340310\n\
             НазначениеПлатежа={}\nКонецДокумента\n",
            o.number,
            roubles(o.kopecks),
            o.payer_inn,
            o.purpose
        ));
    }
    text.push_str("КонецФайла\n");
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&crlf);
    bytes.into_owned()
}

async fn import(app: &TestApp, file: Vec<u8>) -> (u16, Value) {
    read(
        app.request(
            Method::POST,
            "/admin/v1/bank-statements",
            Some(&app.admin_token),
        )
        .header("content-type", "application/octet-stream")
        .body(file)
        .send()
        .await
        .unwrap(),
    )
    .await
}

async fn invoice(app: &TestApp, shop: &Shop) -> Value {
    let (status, invoice) = create(app, shop, seed_request(START_PLAN, 2, 12, &shop.org)).await;
    assert_eq!(status, 201, "{invoice}");
    invoice
}

fn outcomes(report: &Value) -> Vec<(String, Value)> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["outcome"].as_str().unwrap().to_owned(),
                l["invoiceGuid"].clone(),
            )
        })
        .collect()
}

async fn a_statement_pays_what_it_matches_and_lists_the_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = ready(&app, "statement").await;
    let [exact, partial, excess, foreign, paid] = [
        invoice(&app, &shop).await,
        invoice(&app, &shop).await,
        invoice(&app, &shop).await,
        invoice(&app, &shop).await,
        invoice(&app, &shop).await,
    ];
    let (status, _) = invoice_action(
        &app,
        paid["guid"].as_str().unwrap(),
        "pay",
        Some(json!({"method": "transfer"})),
    )
    .await;
    assert_eq!(status, 200);
    let total = exact["total_sum"]["value"].as_i64().unwrap();
    let number = |i: &Value| i["number"].as_str().unwrap().to_owned();
    let purposes = [
        format!(
            "Оплата по счету № {} от 04.12.2026. В т.ч. НДС",
            number(&exact)
        ),
        format!("Оплата по счёту {} (частично)", number(&partial)),
        format!("Оплата счета №{}", number(&excess)),
        format!("Оплата по счету {} за ООО Ромашка", number(&foreign)),
        "Оплата по договору 17 от 01.12.2026".to_owned(),
        format!(
            "Оплата по счетам {} и {}",
            number(&partial),
            number(&excess)
        ),
        format!("Оплата по счету {}", number(&paid)),
        "Комиссия за ведение счета".to_owned(),
    ];
    let file = statement(
        "12.12.2026",
        &[
            paid_in("101", total, BUYER_INN, &purposes[0]),
            paid_in("102", total - 500_000, BUYER_INN, &purposes[1]),
            paid_in("103", total + 1, BUYER_INN, &purposes[2]),
            paid_in("104", total, "7701234567", &purposes[3]),
            paid_in("105", total, BUYER_INN, &purposes[4]),
            paid_in("106", total, BUYER_INN, &purposes[5]),
            paid_in("107", total, BUYER_INN, &purposes[6]),
            // The bank's copy of the first order, listed twice.
            paid_in("101", total, BUYER_INN, &purposes[0]),
            Order {
                number: "9",
                kopecks: 15_050,
                payer_inn: "",
                purpose: &purposes[7],
                incoming: false,
            },
        ],
    );
    let (status, report) = import(&app, file.clone()).await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["alreadyImported"], false);
    assert_eq!(report["accounts"], json!([OURS]));
    assert_eq!(report["periodFrom"], "2026-12-12");
    let guid = |i: &Value| i["guid"].clone();
    assert_eq!(
        outcomes(&report),
        [
            ("matched".to_owned(), guid(&exact)),
            ("partial".to_owned(), guid(&partial)),
            ("excess".to_owned(), guid(&excess)),
            ("unknown_inn".to_owned(), guid(&foreign)),
            ("no_invoice".to_owned(), Value::Null),
            ("several_invoices".to_owned(), Value::Null),
            ("not_payable".to_owned(), guid(&paid)),
            ("duplicate".to_owned(), Value::Null),
            ("outgoing".to_owned(), Value::Null),
        ]
    );
    let summary = &report["summary"];
    for (outcome, n) in [
        ("matched", 1),
        ("partial", 1),
        ("duplicate", 1),
        ("outgoing", 1),
    ] {
        assert_eq!(summary[outcome], n, "{summary}");
    }
    let lines = report["lines"].as_array().unwrap();
    assert_eq!(lines[0]["amount"], total);
    assert_eq!(lines[0]["payerInn"], BUYER_INN);
    assert_eq!(lines[0]["payerName"], "ООО \"Плательщик\"");
    assert_eq!(lines[0]["purpose"], purposes[0].as_str());
    assert!(
        lines[1]["note"].as_str().unwrap().contains("less than"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3]["note"].as_str().unwrap().contains("7701234567"),
        "{}",
        lines[3]
    );

    assert_eq!(status_of(&app, &exact).await, "Paid");
    assert_eq!(
        stored_payments(&app, &exact).await,
        [(
            "bank_transfer".to_owned(),
            Some("п/п № 101 от 12.12.2026".to_owned())
        )]
    );
    for pending in [&partial, &excess, &foreign] {
        assert_eq!(status_of(&app, pending).await, "Pending");
    }
    assert_eq!(stored_payments(&app, &paid).await.len(), 1);

    // The same file again: nothing changes, and the first import is what it says.
    let (status, again) = import(&app, file).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["alreadyImported"], true);
    assert_eq!(again["id"], report["id"]);
    assert_eq!(again["lines"], report["lines"]);
    assert_eq!(stored_payments(&app, &exact).await.len(), 1);
    let id = report["id"].as_str().unwrap();
    let (status, read_back) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/bank-statements/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{read_back}");
    assert_eq!(read_back["lines"], report["lines"]);

    // The next day's statement: an order 101 of that day (another order: the key
    // is number, date, amount and accounts) for the invoice paid already, and the
    // foreign invoice paid from its buyer's INN.
    let next = statement(
        "13.12.2026",
        &[
            paid_in("101", total, BUYER_INN, &purposes[0]),
            paid_in("201", total, BUYER_INN, &purposes[3]),
        ],
    );
    // A statement of an overlapping period (another file) with the first day's
    // order 101 again: a duplicate, naming the statement that brought it first.
    let mut overlap = statement(
        "12.12.2026",
        &[paid_in("101", total, BUYER_INN, &purposes[0])],
    );
    overlap.extend_from_slice(b"\r\n");
    let (status, second) = import(&app, overlap).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(outcomes(&second), [("duplicate".to_owned(), Value::Null)]);
    assert!(second["lines"][0]["note"].as_str().unwrap().contains(id));
    let (status, third) = import(&app, next).await;
    assert_eq!(status, 201, "{third}");
    assert_eq!(
        outcomes(&third),
        [
            ("not_payable".to_owned(), guid(&exact)),
            ("matched".to_owned(), guid(&foreign)),
        ]
    );
    assert_eq!(status_of(&app, &foreign).await, "Paid");
    let (status, list) = app
        .admin(Method::GET, "/admin/v1/bank-statements", None)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["bankStatements"].as_array().unwrap().len(), 3);
    assert_eq!(list["bankStatements"][0]["id"], third["id"]);
    app.stop().await;
}

async fn what_is_not_a_statement_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = import(&app, b"hello".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_argument");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1CClientBankExchange"),
        "{body}"
    );
    // A cut file says where it stops.
    let mut cut = statement("12.12.2026", &[paid_in("1", 100, "", "x")]);
    cut.truncate(cut.len() - 12);
    let (status, body) = import(&app, cut).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("КонецФайла"),
        "{body}"
    );
    let (status, list) = app
        .admin(Method::GET, "/admin/v1/bank-statements", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["bankStatements"], json!([]));
    app.stop().await;
}

/// `kopek bank-statement import FILE`, on the server's database.
async fn the_command_line_imports_a_statement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = ready(&app, "cli-statement").await;
    let inv = invoice(&app, &shop).await;
    let purpose = format!("Оплата по счету № {}", inv["number"].as_str().unwrap());
    let total = inv["total_sum"]["value"].as_i64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kl_to_1c.txt");
    std::fs::write(
        &path,
        statement("12.12.2026", &[paid_in("55", total, BUYER_INN, &purpose)]),
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kopek"))
            .args(["bank-statement", "import"])
            .arg(&path)
            .env("KOPEK_DATABASE_URL", &app.db.url)
            .env("KOPEK_LOG", "warn")
            .output()
            .expect("run kopek")
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\tmatched\t"), "{stdout}");
    assert_eq!(status_of(&app, &inv).await, "Paid");
    let again = run();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("imported before"));
    assert_eq!(stored_payments(&app, &inv).await.len(), 1);
    app.stop().await;
}

both_backends!(
    a_statement_pays_what_it_matches_and_lists_the_rest,
    what_is_not_a_statement_is_refused,
    the_command_line_imports_a_statement,
);
