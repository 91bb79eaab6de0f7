//! Outgoing e-mail: a small SMTP client (RFC 5321) that hands Qalqan's reminders and
//! escalations to the organisation's mail relay, and [`sink::Sink`], a recording SMTP server
//! for tests and for trying a configuration on one machine.
//!
//! Qalqan does not talk to the Internet's mail servers itself: it submits to one relay (the
//! agency's mail server on the internal network, or an MTA such as Postfix on the same host),
//! which queues, signs and encrypts onward. The connection to the relay is plain SMTP, so the
//! relay must be on a trusted network or on localhost; no credentials are ever sent over it.
//!
//! Messages are UTF-8 plain text (base64 transfer encoding, so Cyrillic and Kazakh letters and
//! long lines pass any relay unchanged) with an RFC 2047 encoded subject.
//!
//! Delivery of a batch is one SMTP session: a connection failure fails the whole batch (every
//! message may be retried later), while a recipient or message refused by the relay is reported
//! per message, `permanent` for 5xx replies.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use qalqan_domain::account::EmailAddress;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub mod sink;

/// Why a batch could not be delivered at all.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot connect to the SMTP relay {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("the SMTP relay did not answer within {seconds} s ({stage})")]
    Timeout { stage: &'static str, seconds: u64 },
    #[error("the SMTP relay refused {stage}: {reply}")]
    Refused { stage: &'static str, reply: String },
    #[error("SMTP connection to the relay failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the SMTP relay sent an unreadable reply: {0:?}")]
    BadReply(String),
}

/// Where and as whom mail is submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpParams {
    /// The relay's host name or address.
    pub host: String,
    /// The relay's port. Default 25.
    pub port: u16,
    /// The envelope and `From:` address.
    pub from: EmailAddress,
    /// The display name in `From:`. Default "Qalqan".
    pub from_name: String,
    /// The name given in `EHLO` (and the right side of Message-IDs). Default "qalqan.local".
    pub helo: String,
    /// Longest wait for any one reply of the relay. Default 20 s.
    pub timeout: Duration,
}

impl SmtpParams {
    /// The defaults for a relay at `host` sending as `from`.
    pub fn new(host: impl Into<String>, from: EmailAddress) -> Self {
        Self {
            host: host.into(),
            port: 25,
            from,
            from_name: "Qalqan".into(),
            helo: "qalqan.local".into(),
            timeout: Duration::from_secs(20),
        }
    }
}

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: EmailAddress,
    pub subject: String,
    /// Plain text; any line endings.
    pub body: String,
    /// A unique left part for the Message-ID (e.g. `notification-17`).
    pub id: String,
}

/// What the relay did with one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted for delivery.
    Sent,
    /// Refused: `permanent` for a 5xx reply (retrying will not help), else transient.
    Refused { permanent: bool, reply: String },
}

/// Submits `messages` in one SMTP session; one outcome per message, in order.
///
/// Complexity: one round trip per command, O(total message size) bytes written.
pub async fn send_all(params: &SmtpParams, messages: &[Message]) -> Result<Vec<Outcome>, MailError> {
    let addr = format!("{}:{}", params.host, params.port);
    let seconds = params.timeout.as_secs();
    let stream = tokio::time::timeout(params.timeout, TcpStream::connect(&addr))
        .await
        .map_err(|_| MailError::Timeout { stage: "connect", seconds })?
        .map_err(|source| MailError::Connect { addr: addr.clone(), source })?;
    let mut s = Session { io: BufReader::new(stream), timeout: params.timeout };
    s.expect("greeting", 220).await?;
    let ehlo = s.command(&format!("EHLO {}", params.helo), "EHLO").await?;
    if ehlo.0 != 250 {
        s.command_expect(&format!("HELO {}", params.helo), "HELO", 250).await?;
    }
    let mut outcomes = Vec::with_capacity(messages.len());
    for m in messages {
        outcomes.push(s.transaction(params, m).await?);
    }
    // The messages are accepted; a relay that drops the line at QUIT changes nothing.
    let _ = s.command("QUIT", "QUIT").await;
    Ok(outcomes)
}

struct Session {
    io: BufReader<TcpStream>,
    timeout: Duration,
}

impl Session {
    /// Reads one (possibly multi-line) reply: its code and text.
    async fn reply(&mut self, stage: &'static str) -> Result<(u16, String), MailError> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(self.timeout, self.io.read_line(&mut line))
                .await
                .map_err(|_| MailError::Timeout { stage, seconds: self.timeout.as_secs() })??;
            if n == 0 {
                return Err(MailError::BadReply(format!("connection closed during {stage}")));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| MailError::BadReply(line.to_owned()))?;
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(line.get(4..).unwrap_or("").trim());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, format!("{code} {text}")));
            }
        }
    }

    async fn expect(&mut self, stage: &'static str, code: u16) -> Result<(), MailError> {
        let (got, text) = self.reply(stage).await?;
        if got == code { Ok(()) } else { Err(MailError::Refused { stage, reply: text }) }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), MailError> {
        let stage = "writing";
        tokio::time::timeout(self.timeout, async {
            self.io.get_mut().write_all(bytes).await?;
            self.io.get_mut().flush().await
        })
        .await
        .map_err(|_| MailError::Timeout { stage, seconds: self.timeout.as_secs() })??;
        Ok(())
    }

    async fn command(&mut self, line: &str, stage: &'static str) -> Result<(u16, String), MailError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.reply(stage).await
    }

    async fn command_expect(&mut self, line: &str, stage: &'static str, code: u16) -> Result<(), MailError> {
        let (got, text) = self.command(line, stage).await?;
        if got == code { Ok(()) } else { Err(MailError::Refused { stage, reply: text }) }
    }

    /// MAIL, RCPT, DATA for one message; a refusal resets the session for the next one.
    async fn transaction(&mut self, params: &SmtpParams, m: &Message) -> Result<Outcome, MailError> {
        let steps: [(String, &'static str, &[u16]); 3] = [
            (format!("MAIL FROM:<{}>", params.from), "MAIL FROM", &[250]),
            (format!("RCPT TO:<{}>", m.to), "RCPT TO", &[250, 251]),
            ("DATA".to_owned(), "DATA", &[354]),
        ];
        for (line, stage, ok) in steps {
            let (code, text) = self.command(&line, stage).await?;
            if !ok.contains(&code) {
                self.command("RSET", "RSET").await?;
                return Ok(Outcome::Refused { permanent: code >= 500, reply: text });
            }
        }
        self.write(&render(params, m, chrono::Utc::now())).await?;
        let (code, text) = self.reply("end of data").await?;
        Ok(if code == 250 { Outcome::Sent } else { Outcome::Refused { permanent: code >= 500, reply: text } })
    }
}

/// The message as sent after DATA, ending with the lone dot. Base64 bodies never start a line
/// with a dot, so no dot-stuffing is needed; headers are ASCII by construction.
fn render(params: &SmtpParams, m: &Message, now: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let body: String = m.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let encoded = B64.encode(body.as_bytes());
    let mut out = String::with_capacity(encoded.len() + 512);
    out.push_str(&format!("From: {} <{}>\r\n", ascii_phrase(&params.from_name), params.from));
    out.push_str(&format!("To: <{}>\r\n", m.to));
    out.push_str(&format!("Subject: {}\r\n", encode_header(&m.subject)));
    out.push_str(&format!("Date: {}\r\n", now.to_rfc2822()));
    out.push_str(&format!("Message-ID: <{}.{}@{}>\r\n", ascii_phrase(&m.id).replace(' ', "-"), now.timestamp(), params.helo));
    out.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n");
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out.into_bytes()
}

/// Printable ASCII letters, digits, spaces and `-_.` only (for names and ids in headers).
fn ascii_phrase(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || " -_.".contains(*c)).collect()
}

/// A header value: as is when printable ASCII, else RFC 2047 encoded words of at most 75
/// characters each, split on character boundaries, folded onto continuation lines.
///
/// ```
/// assert_eq!(qalqan_mail::encode_header("Overdue"), "Overdue");
/// assert_eq!(qalqan_mail::encode_header("Поручение"), "=?UTF-8?B?0J/QvtGA0YPRh9C10L3QuNC1?=");
/// ```
pub fn encode_header(s: &str) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.chars().all(|c| c.is_ascii() && !c.is_control()) && clean.len() <= 900 {
        return clean;
    }
    // 45 bytes of UTF-8 → 60 base64 characters + 12 of framing = 72 ≤ 75.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", B64.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", B64.encode(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(port: u16) -> SmtpParams {
        SmtpParams {
            port,
            timeout: Duration::from_secs(5),
            ..SmtpParams::new("127.0.0.1", EmailAddress::parse("qalqan@akimat.kz").unwrap())
        }
    }

    fn message(to: &str, subject: &str, body: &str) -> Message {
        Message { to: EmailAddress::parse(to).unwrap(), subject: subject.into(), body: body.into(), id: "notification-1".into() }
    }

    #[tokio::test]
    async fn messages_reach_the_relay_with_their_cyrillic_text_intact() {
        let sink = sink::Sink::start().unwrap();
        let body = "Поручение №7 просрочено.\n.\nҚазақ әріптері: ә ғ қ ң ө ұ ү һ і\n";
        let out = send_all(
            &params(sink.port()),
            &[message("duty@police.kz", "Поручение №7: просрочено", body), message("ops@akimat.kz", "Reminder", "x")],
        )
        .await
        .unwrap();
        assert_eq!(out, vec![Outcome::Sent, Outcome::Sent]);
        let got = sink.messages();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].from, "qalqan@akimat.kz");
        assert_eq!(got[0].to, vec!["duty@police.kz".to_string()]);
        assert_eq!(got[0].subject, "Поручение №7: просрочено");
        assert_eq!(got[0].body, body.replace('\n', "\r\n"));
        assert_eq!(got[1].to, vec!["ops@akimat.kz".to_string()]);
    }

    #[tokio::test]
    async fn a_refused_recipient_fails_only_its_own_message() {
        let sink = sink::Sink::start().unwrap();
        sink.refuse_recipient("gone@police.kz");
        let out =
            send_all(&params(sink.port()), &[message("gone@police.kz", "a", "a"), message("duty@police.kz", "b", "b")]).await.unwrap();
        assert!(matches!(&out[0], Outcome::Refused { permanent: true, reply } if reply.starts_with("550")), "{out:?}");
        assert_eq!(out[1], Outcome::Sent);
        assert_eq!(sink.messages().len(), 1);
    }

    #[tokio::test]
    async fn a_relay_that_is_down_fails_the_batch_with_its_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = send_all(&params(port), &[message("duty@police.kz", "a", "a")]).await.unwrap_err();
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    }

    #[test]
    fn long_subjects_fold_into_short_encoded_words() {
        let s = "Напоминание: поручение №12 (МВД) — срок 05.12.2026, осталось 3 дн.";
        let h = encode_header(s);
        assert!(h.lines().all(|l| l.trim_start().len() <= 75), "{h}");
        assert_eq!(sink::decode_header(&h.replace("\r\n", "")), s);
        assert_eq!(encode_header("a\r\nBcc: x@y.kz"), "a  Bcc: x@y.kz", "no header injection");
    }
}
