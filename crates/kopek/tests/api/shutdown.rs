//! Graceful shutdown: stop accepting, finish what is in flight.

use crate::both_backends;
use crate::harness::TestApp;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn a_request_in_flight_finishes_during_shutdown(app: TestApp) {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body = br#"{"name":"Late but kept"}"#;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /admin/v1/resellers HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        app.admin_token,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "no new connections once shutdown began"
    );
    stream.write_all(&body[5..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown completes")
        .unwrap();
}

both_backends!(a_request_in_flight_finishes_during_shutdown);
