// Package mail renders and sends the mail authd sends: address verification,
// password reset, and the two mails of an email change (a link to confirm
// the new address, a notice to the old one). It is infrastructure: the
// domain (auth) imports none of it and reaches it through a small interface
// of its own, which cmd/authd fills with Templates and a Sender.
//
// What it promises:
//
//   - Every message has a text and an HTML part, a subject naming the
//     product, and a Message-ID made once when the message is rendered, so
//     that the outbox, which stores messages as JSON, resends the same one
//     and receivers can drop duplicates.
//   - Templates are embedded and can be overridden file by file from a
//     directory (AUTH_MAIL_TEMPLATES_DIR). Load renders every kind from
//     sample data, so a broken override stops authd at start-up, not at the
//     first mail. HTML is html/template: every value is escaped.
//   - Links are built by Link from AUTH_UI_URL alone, never from a request,
//     and carry the token in the fragment (#token=…), which no server sees.
//   - Classify tells an error about this message, which no retry can fix
//     (a 5xx reply to RCPT or to the data, a malformed message), from one
//     about authd's configuration (refused credentials or sender, a TLS
//     failure), which an operator fixes and which must therefore not drop
//     the message, and from a transient one (no connection, a timeout, a
//     4xx).
//   - SMTP.Send ends when its context does, whatever step the exchange is
//     at.
//   - Outbox delivers the mail the domain queues in the database (see
//     outbox.go): retried with backoff, given up with an audit event, and
//     sent once, but for one case it names.
//
// SMTP sends through an SMTP server; Log writes each message to the log, the
// embedded-mode default, for development only (tokens appear in the log).
// AUTH_SMTP_URL chooses the connection's security:
//
//	smtp://[user:password@]host[:port]
//	    STARTTLS when the server offers it, plain text when it doesn't
//	    (go-mail's TLSOpportunistic); port 587 by default
//	smtp://[user:password@]host[:port]?starttls=required
//	    STARTTLS or no mail: a server that doesn't offer it is refused
//	    (TLSMandatory); port 587 by default
//	smtps://[user:password@]host[:port]
//	    implicit TLS, from the first byte; port 465 by default
//
// Certificates are checked against the system roots. With user:password,
// PLAIN and LOGIN authentication, which send the password as it is, are used
// only on an encrypted connection; on a plain one only challenge-response
// mechanisms (SCRAM, CRAM-MD5) are, and sending fails if the server offers
// none. Reserved characters in the user name and password must be
// percent-encoded.
package mail
