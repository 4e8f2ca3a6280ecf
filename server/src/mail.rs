//! Outgoing mail: passkey setup links for invited teammates and recovery.
//!
//! A [`Mailer`] sends one [`Mail`]. Without SMTP settings the relay uses the
//! [`Outbox`]: every mail is written as an RFC 5322 message to
//! `<data-dir>/outbox/<time>-<id>.eml` (readable by the relay's user only) and
//! its link is logged, so a development relay (or an operator without a mail
//! server) can still hand links on. An SMTP mailer implements the same trait.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use async_trait::async_trait;

use crate::clock::{self, Clock};

/// The name of the outbox folder inside the data directory.
pub const OUTBOX_DIR_NAME: &str = "outbox";

/// One plain-text mail.
#[derive(Clone, Debug)]
pub struct Mail {
    /// One address, already validated (no spaces or control characters).
    pub to: String,
    /// ASCII only (it goes into a header as is).
    pub subject: String,
    /// UTF-8 text; lines end in `\n`.
    pub body: String,
    /// The link the mail carries, if any: logged by the [`Outbox`].
    pub link: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the mail is malformed: {0}")]
    Malformed(&'static str),
    #[error("could not write the mail to the outbox {path}: {source}")]
    Outbox { path: PathBuf, source: std::io::Error },
    #[error("the SMTP server did not take the mail ({0}); it was kept in the outbox folder")]
    Smtp(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends (or queues) `mail`. An error means it was not sent.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Writes each mail to a folder instead of sending it.
#[derive(Clone, Debug)]
pub struct Outbox {
    dir: PathBuf,
    from: String,
    clock: Clock,
}

impl Outbox {
    /// `dir` is created (owner-only) on the first mail; `from` is the sender
    /// address, e.g. `fxe relay <noreply@fax.example.org>`.
    pub fn new(dir: PathBuf, from: String, clock: Clock) -> Outbox {
        Outbox { dir, from, clock }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let now_ms = self.clock.now_ms();
        let id = fxe_protocol::encoding::new_uuid_v4()
            .map_err(|_| MailError::Malformed("no randomness for a message id"))?;
        let domain = self.from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>')).unwrap_or("localhost");
        let text = render(mail, &self.from, &format!("<{id}@{domain}>"), now_ms / 1000)?;
        let stamp = clock::rfc3339_ms(now_ms).replace([':', '-', '.'], "");
        let path = self.dir.join(format!("{stamp}-{id}.eml"));
        let dir = self.dir.clone();
        let file = path.clone();
        tokio::task::spawn_blocking(move || write_private(&dir, &file, text.as_bytes()))
            .await
            .map_err(|e| MailError::Outbox { path: path.clone(), source: std::io::Error::other(e) })?
            .map_err(|source| MailError::Outbox { path: path.clone(), source })?;
        match &mail.link {
            Some(link) => {
                tracing::info!(to = %mail.to, subject = %mail.subject, link = %link, file = %path.display(), "mail written to the outbox (no SMTP configured)")
            }
            None => {
                tracing::info!(to = %mail.to, subject = %mail.subject, file = %path.display(), "mail written to the outbox (no SMTP configured)")
            }
        }
        Ok(())
    }
}

/// Sends mail through an SMTP server. A mail the server does not take is
/// written to the outbox folder instead (and the error returned), so no
/// setup link is lost.
pub struct Smtp {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: String,
    envelope_from: lettre::Address,
    fallback: Outbox,
}

impl Smtp {
    pub fn new(url: &str, from: String, fallback_dir: PathBuf, clock: Clock) -> Result<Smtp, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("not a usable SMTP URL ({e})"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let envelope_from = crate::config::check_from(&from)?;
        let fallback = Outbox::new(fallback_dir, from.clone(), clock);
        Ok(Smtp { transport, from, envelope_from, fallback })
    }
}

#[async_trait]
impl Mailer for Smtp {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let id = fxe_protocol::encoding::new_uuid_v4()
            .map_err(|_| MailError::Malformed("no randomness for a message id"))?;
        let text = render(
            mail,
            &self.from,
            &format!("<{id}@{}>", self.envelope_from.domain()),
            self.fallback.clock.now_secs(),
        )?;
        let to: lettre::Address =
            mail.to.parse().map_err(|_| MailError::Malformed("the recipient is not an address"))?;
        let envelope = lettre::address::Envelope::new(Some(self.envelope_from.clone()), vec![to])
            .map_err(|_| MailError::Malformed("no recipient"))?;
        match lettre::AsyncTransport::send_raw(&self.transport, &envelope, text.as_bytes()).await {
            Ok(_) => {
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
                Ok(())
            }
            Err(e) => {
                tracing::error!(to = %mail.to, error = %e, "the SMTP server did not take the mail; writing it to the outbox");
                self.fallback.send(mail).await?;
                Err(MailError::Smtp(e.to_string()))
            }
        }
    }
}

/// The mailer `settings` ask for: SMTP, or the outbox folder in `outbox_dir`.
pub fn from_settings(
    settings: &crate::config::MailSettings, outbox_dir: PathBuf, clock: Clock,
) -> Result<std::sync::Arc<dyn Mailer>, String> {
    Ok(match &settings.smtp_url {
        Some(url) => std::sync::Arc::new(Smtp::new(url, settings.from.clone(), outbox_dir, clock)?),
        None => std::sync::Arc::new(Outbox::new(outbox_dir, settings.from.clone(), clock)),
    })
}

fn write_private(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(file)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The RFC 5322 text of `mail`: CRLF line ends, a plain-text UTF-8 body.
pub fn render(mail: &Mail, from: &str, message_id: &str, unix_secs: i64) -> Result<String, MailError> {
    let header_safe = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_control());
    if !header_safe(&mail.to) || mail.to.contains(char::is_whitespace) {
        return Err(MailError::Malformed("the recipient address"));
    }
    if !header_safe(&mail.subject) || !mail.subject.is_ascii() {
        return Err(MailError::Malformed("the subject must be printable ASCII"));
    }
    if !header_safe(from) {
        return Err(MailError::Malformed("the sender address"));
    }
    let mut out = String::new();
    for (name, value) in [
        ("Date", rfc5322_date(unix_secs).as_str()),
        ("From", from),
        ("To", mail.to.as_str()),
        ("Subject", mail.subject.as_str()),
        ("Message-ID", message_id),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "8bit"),
        ("Auto-Submitted", "auto-generated"),
    ] {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    for line in mail.body.lines() {
        // RFC 5322 caps lines at 998 octets; ours are short, but never emit a bare CR.
        out.push_str(&line.replace('\r', ""));
        out.push_str("\r\n");
    }
    Ok(out)
}

/// `Sun, 22 Nov 2026 10:10:15 +0000`
pub fn rfc5322_date(unix_secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    // `YYYY-MM-DDTHH:MM:SSZ`
    let iso = clock::rfc3339(unix_secs);
    let weekday =
        usize::try_from(unix_secs.div_euclid(86_400).rem_euclid(7)).ok().and_then(|d| DAYS.get(d)).unwrap_or(&"Thu");
    let month = iso
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .unwrap_or(&"Jan");
    format!("{weekday}, {} {month} {} {} +0000", &iso[8..10], &iso[..4], &iso[11..19])
}

/// The setup-link mail for a teammate (`purpose` says why it was sent).
pub fn setup_link_mail(to: &str, org_name: &str, link: &str, invited: bool) -> Mail {
    let (subject, intro) = if invited {
        ("You have been invited to fxe", format!("You have been added to {org_name} on fxe, the encrypted fax relay."))
    } else {
        (
            "Your fxe passkey setup link",
            format!("An administrator of {org_name} on fxe sent you a new passkey setup link."),
        )
    };
    let keys = if invited {
        "\n\nTo open and send faxes you also need your organization's keys: an administrator of \
         {org_name} gives you a staff keys.zip (never by e-mail). You unlock it once in the web app \
         and can then remember it on your device with your passkey.\n"
            .replace("{org_name}", org_name)
    } else {
        String::new()
    };
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        body: format!(
            "{intro}\n\nOpen this link to set up your passkey and sign in:\n\n{link}\n\n\
             The link works once and expires in 24 hours. If you did not expect this mail, ignore it.\n{keys}"
        ),
        link: Some(link.to_owned()),
    }
}

/// The mail `POST /auth/recover` sends: a new passkey setup link.
pub fn recovery_mail(to: &str, org_name: &str, link: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your fxe recovery link".to_owned(),
        body: format!(
            "Someone (hopefully you) asked to recover access to {org_name} on fxe.\n\n\
             Open this link to set up a new passkey and sign in:\n\n{link}\n\n\
             The link works once and expires in 24 hours. Your other passkeys keep working.\n\
             If you did not ask for this, ignore this mail: nothing changes until the link is used.\n"
        ),
        link: Some(link.to_owned()),
    }
}

/// The arrival notice (docs/api.md, "Arrival notices"): which of the org's numbers a fax came to, and where to
/// open it. Nothing about the fax itself: not its sender, not its size, not its content.
pub fn arrival_mail(to: &str, to_number: &str, inbox_url: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "A fax arrived on fxe".to_owned(),
        body: format!(
            "A fax arrived for {}.\n\nSign in to open it:\n\n{inbox_url}\n\n\
             You get this mail because you asked for arrival notices; turn them off on your dashboard.\n",
            fxe_protocol::e164::display(to_number)
        ),
        link: Some(inbox_url.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_795_342_215), "Sun, 22 Nov 2026 10:10:15 +0000");
    }

    #[test]
    fn renders_and_refuses_header_injection() {
        let mail = setup_link_mail("ana@example.org", "Praxis Müller", "https://fax.example.org/setup/set_abc", true);
        let text = render(&mail, "fxe relay <noreply@fax.example.org>", "<1@fax.example.org>", 0).unwrap();
        assert!(text.starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: fxe relay <noreply@fax.example.org>\r\nTo: ana@example.org\r\n"));
        assert!(text.contains("\r\n\r\nYou have been added to Praxis Müller on fxe"));
        assert!(text.contains("https://fax.example.org/setup/set_abc\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'), "only CRLF line ends");

        let mut bad = mail.clone();
        bad.to = "ana@example.org\r\nBcc: eve@example.org".into();
        assert!(render(&bad, "a@b.c", "<1@b.c>", 0).is_err());
        let mut bad = mail;
        bad.subject = "Hi\r\nBcc: eve@example.org".into();
        assert!(render(&bad, "a@b.c", "<1@b.c>", 0).is_err());
    }

    #[tokio::test]
    async fn outbox_writes_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("outbox"), "fxe <noreply@localhost>".into(), Clock::system());
        outbox.send(&setup_link_mail("bo@example.org", "Org", "http://x/setup/set_1", false)).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(outbox.dir()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.ends_with(".eml") && name.len() > 40, "{name}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("To: bo@example.org\r\n") && text.contains("http://x/setup/set_1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(outbox.dir()).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }
}
