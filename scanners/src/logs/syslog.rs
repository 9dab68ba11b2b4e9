//! JSON log records carried in syslog lines, as log forwarders (rsyslog, syslog-ng, the
//! GitHub Enterprise Server appliance's log forwarding, SIEM syslog collectors) write them:
//!
//! - RFC 3164 (BSD): `[<PRI>]Mmm dd hh:mm:ss host tag[pid]: message`, or with an RFC 3339
//!   time in place of the BSD one (rsyslog's high-precision template);
//! - RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID STRUCTURED-DATA message`, the message
//!   possibly after a UTF-8 BOM.
//!
//! [`message`] gives the message of such a line when it is a JSON object (or a Ruby hash, as
//! GitHub Enterprise Server writes its `github_audit` entries: [`super::ruby_hash`]); the
//! record keeps its own time, the header's is not read (an RFC 3164 time has no year).

/// The JSON (or Ruby hash) message of a syslog line, or `None` when `line` has no syslog
/// header or its message does not begin with `{`.
pub fn message(line: &[u8]) -> Option<&[u8]> {
    let rest = after_header(line)?;
    // The message is the rest of the line from its first `{`, which must come after the
    // header's fields (host, tag or app, process and message ids, structured data) and a
    // space, within a header's length.
    let header = rest.iter().take(512).position(|b| *b == b'{')?;
    if header == 0 {
        return None;
    }
    let before = &rest[..header];
    let before = before.strip_suffix("\u{feff}".as_bytes()).unwrap_or(before);
    if !before.ends_with(b" ") {
        return None;
    }
    let message = &rest[header..];
    let message = message.strip_suffix(b"\n").unwrap_or(message);
    Some(message.strip_suffix(b"\r").unwrap_or(message))
}

/// Whether `line` begins with a syslog header (priority, version and time), whatever its
/// message.
pub fn is_syslog(line: &[u8]) -> bool {
    after_header(line).is_some()
}

/// What follows the priority, version and time of a syslog line, or `None` when `line` does
/// not begin with them.
fn after_header(line: &[u8]) -> Option<&[u8]> {
    let mut rest = line;
    if rest.first() == Some(&b'<') {
        let close = rest.iter().take(6).position(|b| *b == b'>')?;
        if close < 2 || !rest[1..close].iter().all(u8::is_ascii_digit) {
            return None;
        }
        rest = &rest[close + 1..];
        // RFC 5424: the version right after the priority.
        if let Some(after) = rest.strip_prefix(b"1 ") {
            rest = after;
        }
    }
    after_timestamp(rest)
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// What follows a syslog timestamp at the start of `text` (and its space), or `None` when
/// `text` does not start with one: `Mmm dd hh:mm:ss` (the day space-padded or not) or an
/// RFC 3339 time.
fn after_timestamp(text: &[u8]) -> Option<&[u8]> {
    if text.len() > 3 && MONTHS.iter().any(|m| text.starts_with(*m)) && text[3] == b' ' {
        let mut rest = &text[4..];
        if rest.first() == Some(&b' ') {
            rest = &rest[1..];
        }
        let day = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=2).contains(&day) || rest.get(day) != Some(&b' ') {
            return None;
        }
        let clock = rest.get(day + 1..day + 9)?;
        let shape = clock.iter().enumerate().all(|(i, b)| {
            if i == 2 || i == 5 {
                *b == b':'
            } else {
                b.is_ascii_digit()
            }
        });
        if !shape || rest.get(day + 9) != Some(&b' ') {
            return None;
        }
        return Some(&rest[day + 10..]);
    }
    let end = text.iter().take(40).position(|b| *b == b' ')?;
    let time = std::str::from_utf8(&text[..end]).ok()?;
    if !time.as_bytes().first()?.is_ascii_digit() || !time.contains('T') {
        return None;
    }
    nhiscope_engine::time::parse(time)?;
    Some(&text[end + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(line: &str) -> Option<&str> {
        message(line.as_bytes()).map(|m| std::str::from_utf8(m).expect("utf-8"))
    }

    #[test]
    fn bsd_and_rfc5424_headers_give_their_json_message() {
        // GitHub Enterprise Server's documented audit.log entries.
        assert_eq!(
            msg("Oct 26 01:42:08 github-ent github_audit: {:action=>\"repo.create\"}\n"),
            Some("{:action=>\"repo.create\"}")
        );
        assert_eq!(
            msg("Oct 26 02:19:31 github-ent github_audit: { \"pid\":22860 }\r\n"),
            Some("{ \"pid\":22860 }")
        );
        // A priority, a space-padded day, a tag with its process id.
        assert_eq!(
            msg("<134>Jan  5 07:01:02 node-1 kube-apiserver[812]: {\"kind\":\"Event\"}"),
            Some("{\"kind\":\"Event\"}")
        );
        // rsyslog's RFC 3339 template.
        assert_eq!(
            msg("2026-01-05T07:01:02.123456+00:00 ip-10-0-0-1 cloudtrail: {\"eventVersion\":\"1.09\"}"),
            Some("{\"eventVersion\":\"1.09\"}")
        );
        // RFC 5424 with structured data and a BOM before the message.
        assert_eq!(
            msg("<165>1 2026-01-05T07:01:02Z host app 99 ID47 [origin ip=\"10.0.0.1\"] \u{feff}{\"a\":1}"),
            Some("{\"a\":1}")
        );
        assert_eq!(
            msg("<14>1 2026-01-05T07:01:02.5Z host app - - - {\"a\":1}"),
            Some("{\"a\":1}")
        );
    }

    #[test]
    fn other_text_is_not_syslog_json() {
        for line in [
            "{\"a\":1}",
            "Oct 26 01:42:08 github-ent sshd[1]: Accepted publickey for git",
            "Oct 26 01:42:08 github-ent tag:{\"glued\":1}",
            "Foo 26 01:42:08 host tag: {\"a\":1}",
            "Oct 126 01:42:08 host tag: {\"a\":1}",
            "Oct 26 1:42:08 host tag: {\"a\":1}",
            "2026-01-05 host tag: {\"a\":1}",
            "<1x>Oct 26 01:42:08 host tag: {\"a\":1}",
        ] {
            assert_eq!(msg(line), None, "{line}");
        }
        // Syslog, with a message that is no record.
        assert!(is_syslog(
            b"Oct 26 01:42:08 github-ent sshd[1]: Accepted publickey"
        ));
        assert!(!is_syslog(b"Foo 26 01:42:08 host tag: {}"));
        assert!(!is_syslog(b"{\"a\":1}"));
    }
}
