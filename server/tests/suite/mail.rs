//! Mail over SMTP (`--smtp-url`): a real SMTP conversation with a small
//! receiving server on loopback; a server that refuses the mail leaves it in
//! the outbox folder, so no setup link is lost.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::{Arc, Mutex};

use common::{TestServer, client::TestOrg};
use fxe_server::config::MailSettings;
use reqwest::StatusCode;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// A receiving SMTP server: takes every mail (or refuses each at `RCPT` when
/// `refuse` is set) and keeps what it received.
async fn smtp_sink(refuse: bool) -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                let mut rcpt = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink.test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM") {
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line[8..].trim().to_owned();
                        if refuse { b"550 no such mailbox\r\n" } else { b"250 OK\r\n" }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().unwrap().push((rcpt.clone(), data));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 OK\r\n"
                    } else {
                        b"502 not implemented\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, received)
}

async fn relay_mailing_to(port: u16) -> TestServer {
    TestServer::start_configured(|config| {
        config.mail = MailSettings::new(
            Some(format!("smtp://127.0.0.1:{port}")),
            Some("fxe test <fax@relay.example.org>".into()),
            &config.public_url,
        )
        .unwrap();
    })
    .await
}

fn outbox_files(server: &TestServer) -> usize {
    std::fs::read_dir(server.state.config.storage.data_dir.join("outbox")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn setup_links_go_out_over_smtp() {
    let (port, received) = smtp_sink(false).await;
    let server = relay_mailing_to(port).await;
    let org = TestOrg::redeem(&server, "Lakeside Clinic", &["+15550100001"]).await;
    let (status, body) = org
        .call(&server, "POST", "/api/v1/users", Some(&json!({ "email": "nurse@example.org", "role": "user" })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link = body["setup_url"].as_str().unwrap().to_owned();

    let mails = received.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "one mail");
    let (rcpt, data) = &mails[0];
    assert_eq!(rcpt, "<nurse@example.org>");
    assert!(data.contains("From: fxe test <fax@relay.example.org>"), "{data}");
    assert!(data.contains("To: nurse@example.org"), "{data}");
    assert!(data.contains(&link), "the mail carries the setup link: {data}");
    assert_eq!(outbox_files(&server), 0, "nothing in the outbox");
    server.stop().await;
}

#[tokio::test]
async fn a_refused_mail_is_kept_in_the_outbox() {
    let (port, received) = smtp_sink(true).await;
    let server = relay_mailing_to(port).await;
    let org = TestOrg::redeem(&server, "Hill Law LLP", &["+15550100002"]).await;
    let (status, body) = org
        .call(&server, "POST", "/api/v1/users", Some(&json!({ "email": "clerk@example.org", "role": "user" })))
        .await;
    // The admin still gets the link in the answer; the mail is not lost.
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(received.lock().unwrap().is_empty());
    assert_eq!(outbox_files(&server), 1, "the refused mail is in the outbox");
    server.stop().await;
}

#[test]
fn bad_mail_settings_are_refused_with_a_reason() {
    let public = url::Url::parse("https://fax.example.org").unwrap();
    let err = |smtp: Option<&str>, from: Option<&str>| {
        MailSettings::new(smtp.map(Into::into), from.map(Into::into), &public).unwrap_err().to_string()
    };
    assert!(err(Some("http://mail.example.org"), None).contains("--smtp-url"));
    assert!(err(Some("smtps://"), None).contains("--smtp-url"));
    assert!(err(None, Some("not a mailbox")).contains("--mail-from"));
    assert!(err(None, Some("fxe <fax@example.org>\r\nBcc: x@y.z")).contains("--mail-from"));
    let ok = MailSettings::new(Some("smtps://user:pw@mail.example.org:465".into()), None, &public).unwrap();
    assert_eq!(ok.from, "fxe relay <noreply@fax.example.org>");
}
