//! Optional e-mail: invitation links sent by SMTP when the operator configures a relay
//! (`--smtp-url smtp://host:port`, `--smtp-from`). Without one, the API and the command
//! line return the link and whoever invites passes it on.

use coopdir_access::InvitationView;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where invitation e-mails go out.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://host[:port]`: a relay on this host or a trusted network (no TLS, no login).
    pub smtp_url: String,
    /// The sender, e.g. `coopdir <directory@example.org>`.
    pub from: String,
}

#[derive(Default)]
pub struct Mailer {
    relay: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
}

impl Mailer {
    /// What [`Mailer::new`] would refuse in `config`, for `coopdir config check`.
    pub fn check(config: Option<&MailConfig>) -> Result<(), String> {
        Self::new(config).map(drop)
    }

    pub fn new(config: Option<&MailConfig>) -> Result<Self, String> {
        let Some(config) = config else {
            return Ok(Self::default());
        };
        let unusable = || {
            format!(
                "the SMTP URL {} is not usable: write smtp://host or smtp://host:port",
                config.smtp_url
            )
        };
        let address = config
            .smtp_url
            .strip_prefix("smtp://")
            .ok_or_else(unusable)?;
        let address = address.trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| unusable())?),
            None => (address, 25),
        };
        if host.is_empty() {
            return Err(unusable());
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build();
        let from = config
            .from
            .parse()
            .map_err(|e| format!("the sender address {} is not valid: {e}", config.from))?;
        Ok(Self {
            relay: Some((transport, from)),
        })
    }

    /// Sends the invitation link in the background; a failure is logged (the link was
    /// returned to whoever invited, so nothing is lost).
    pub fn invitation_created(&self, invitation: &InvitationView, url: &str) {
        let Some((transport, from)) = &self.relay else {
            return;
        };
        let to: Mailbox = match invitation.email.parse() {
            Ok(to) => to,
            Err(e) => {
                tracing::warn!(invitation = %invitation.id, error = %e, "invitation not e-mailed");
                return;
            }
        };
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject("You are invited to the co-op directory")
            .body(format!(
                "Hello,\n\nyou are invited to join {} in the co-op directory.\n\nOpen this link to choose your name and password (it works once, until {}):\n\n{url}\n",
                invitation.coop, invitation.expires
            ));
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(invitation = %invitation.id, error = %e, "invitation not e-mailed");
                return;
            }
        };
        let transport = transport.clone();
        let id = invitation.id.clone();
        tokio::spawn(async move {
            match transport.send(message).await {
                Ok(_) => tracing::info!(invitation = %id, "invitation e-mailed"),
                Err(e) => {
                    tracing::warn!(invitation = %id, error = %e, "sending the invitation failed")
                }
            }
        });
    }
}
