"""Mail adapters: the `Mailer` port over SMTP."""

from novapulse_adapters.mail.smtp import Security, SmtpMailer

__all__ = ["Security", "SmtpMailer"]
