//! A recording SMTP server on loopback: accepts every message (or refuses chosen recipients
//! with 550), decodes it, and keeps it for inspection. Runs on its own threads, so it serves
//! blocking tests and async ones alike; it stops when dropped.
//!
//! It speaks just enough SMTP for well-behaved clients (EHLO/HELO, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT); it is a test double, not a mail server.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// A message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The decoded `Subject:`.
    pub subject: String,
    /// The decoded body.
    pub body: String,
    /// The message as transmitted (headers and encoded body).
    pub raw: String,
}

#[derive(Default)]
struct Shared {
    messages: Vec<Received>,
    refused: Vec<String>,
}

/// The running sink; see the module docs.
pub struct Sink {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl Sink {
    /// Listens on a free loopback port.
    pub fn start() -> std::io::Result<Self> {
        Self::start_on(0)
    }

    /// Listens on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let s = s.clone();
                    std::thread::spawn(move || {
                        let _ = serve(conn, &s);
                    });
                }
            }
        });
        Ok(Self { port, shared, stop })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Answer 550 to `RCPT TO` this address from now on.
    pub fn refuse_recipient(&self, address: &str) {
        self.shared.lock().expect("sink lock").refused.push(address.to_ascii_lowercase());
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().expect("sink lock").messages.clone()
    }

    /// Waits up to `timeout` for at least `n` messages; returns what is there.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() >= end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag and closes the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(conn: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = conn.try_clone()?;
    let mut input = BufReader::new(conn);
    out.write_all(b"220 sink.local ESMTP test sink\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.local\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            b"250 reset\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&cmd[10..]);
            b"250 sender ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let addr = angle(&cmd[8..]);
            if shared.lock().expect("sink lock").refused.contains(&addr.to_ascii_lowercase()) {
                b"550 5.1.1 no such mailbox\r\n"
            } else {
                to.push(addr);
                b"250 recipient ok\r\n"
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                b"503 no recipients\r\n"
            } else {
                out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if input.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    raw.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let received = decode(std::mem::take(&mut from), std::mem::take(&mut to), raw);
                shared.lock().expect("sink lock").messages.push(received);
                b"250 queued\r\n"
            }
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        out.write_all(reply)?;
    }
}

fn angle(s: &str) -> String {
    s.trim().trim_start_matches('<').split('>').next().unwrap_or("").to_owned()
}

fn decode(from: String, to: Vec<String>, raw: String) -> Received {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    // Unfold continuation lines, then read the headers we need.
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
            .unwrap_or_default()
    };
    let subject = decode_header(&header("Subject"));
    let body = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("base64") {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        B64.decode(compact).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default()
    } else {
        body.to_owned()
    };
    Received { from, to, subject, body, raw }
}

/// Decodes RFC 2047 `=?UTF-8?B?…?=` words (adjacent words join without the space between).
pub fn decode_header(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_owned();
    }
    let mut out = String::new();
    let mut bytes = Vec::new();
    for part in value.split(' ') {
        let word = part.strip_prefix("=?UTF-8?B?").or_else(|| part.strip_prefix("=?utf-8?b?")).and_then(|p| p.strip_suffix("?="));
        match word.and_then(|w| B64.decode(w).ok()) {
            Some(b) => bytes.extend(b),
            None => {
                if !bytes.is_empty() {
                    out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
                    out.push(' ');
                }
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(part);
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}
