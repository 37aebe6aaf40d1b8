//! A real SMTP server for tests: listens on 127.0.0.1, speaks enough SMTP for lettre (EHLO,
//! MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), keeps what it receives, and can be
//! "down" (answers 421 at connect, a transient failure). Also parses the MIME messages the
//! service writes (base64 parts, RFC 2047 subjects).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    /// Connections refused while down.
    pub refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let (r, d, f) = (received.clone(), down.clone(), refused.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (r, d, f) = (r.clone(), d.clone(), f.clone());
                tokio::spawn(async move {
                    let _ = session(stream, r, d, f).await;
                });
            }
        });
        Self {
            port,
            received,
            down,
            refused,
            task,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub async fn count(&self) -> usize {
        self.received.lock().await.len()
    }

    /// Waits until at least `n` messages arrived (at most 20 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            {
                let got = self.received.lock().await;
                if got.len() >= n {
                    return got.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server did not receive {n} messages in time");
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    if down.load(Ordering::SeqCst) {
        refused.fetch_add(1, Ordering::SeqCst);
        w.write_all(b"421 smtp.test service not available, try again later\r\n")
            .await?;
        return Ok(());
    }
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 smtp.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-smtp.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("DATA") {
            w.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                // Dot-unstuffing: the client doubled every leading dot.
                let l = l.strip_prefix('.').unwrap_or(l.as_str());
                data.push_str(l);
                data.push_str("\r\n");
            }
            received.lock().await.push(Received {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            w.write_all(b"250 OK queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"500 unknown command\r\n").await?;
        }
    }
    Ok(())
}

/// A parsed message: headers (unfolded) and the decoded text/plain and text/html parts.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub subject: String,
    pub to: String,
    pub text: String,
    pub html: String,
}

fn decode_words(s: &str) -> String {
    // RFC 2047 encoded words as lettre writes them: =?utf-8?b?...?=, separated by spaces.
    let mut out = String::new();
    for word in s.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
            let b = &word[10..word.len() - 2];
            out.push_str(&String::from_utf8(STANDARD.decode(b).unwrap()).unwrap());
        } else if lower.starts_with("=?utf-8?q?") && word.ends_with("?=") {
            let q = &word[10..word.len() - 2];
            let mut bytes = Vec::new();
            let mut it = q.bytes();
            while let Some(c) = it.next() {
                match c {
                    b'_' => bytes.push(b' '),
                    b'=' => {
                        let h = [it.next().unwrap(), it.next().unwrap()];
                        bytes.push(
                            u8::from_str_radix(std::str::from_utf8(&h).unwrap(), 16).unwrap(),
                        );
                    }
                    c => bytes.push(c),
                }
            }
            out.push_str(&String::from_utf8(bytes).unwrap());
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// Parses the messages the service writes (multipart/alternative, base64 parts).
pub fn parse(raw: &str) -> Parsed {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in head.lines() {
        if l.starts_with(' ') || l.starts_with('\t') {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(l.trim());
            }
        } else if let Some((k, v)) = l.split_once(':') {
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let h = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut text = String::new();
    let mut html = String::new();
    for part in body.split("\n--") {
        let Some((ph, pb)) = part.split_once("\n\n") else {
            continue;
        };
        let ph = ph.to_ascii_lowercase();
        let b64: String = pb
            .lines()
            .take_while(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .concat();
        if !ph.contains("content-transfer-encoding: base64") {
            continue;
        }
        let decoded = String::from_utf8(STANDARD.decode(b64.trim()).unwrap()).unwrap();
        if ph.contains("text/plain") {
            text = decoded;
        } else if ph.contains("text/html") {
            html = decoded;
        }
    }
    Parsed {
        subject: decode_words(&h("subject")),
        to: h("to"),
        text,
        html,
    }
}

/// The 43-character secret after `base` in a message's text.
pub fn secret_after(text: &str, base: &str) -> String {
    let i = text
        .find(base)
        .unwrap_or_else(|| panic!("no link in {text}"))
        + base.len();
    text[i..i + 43].to_owned()
}
