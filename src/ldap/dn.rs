//! Distinguished names (RFC 4514): parsing, escaping, and the normal form they are compared in
//! (attribute types and values lowercased, spacing and escapes made canonical).

use std::fmt;

/// A DN of single-valued RDNs, values unescaped; the first RDN is the entry's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dn(Vec<(String, String)>);

impl Dn {
    /// Parses a DN; `None` for what is not one (or has a multi-valued RDN, which no entry here
    /// has). The empty string is the root.
    pub fn parse(text: &str) -> Option<Self> {
        if text.trim().is_empty() {
            return Some(Self(Vec::new()));
        }
        split_unescaped(text, &[',', ';'])
            .into_iter()
            .map(|rdn| {
                if split_unescaped(rdn, &['+']).len() > 1 {
                    return None;
                }
                let (attr, value) = rdn.split_once('=')?;
                let attr = attr.trim().to_ascii_lowercase();
                let valid = !attr.is_empty()
                    && attr
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                valid.then_some(())?;
                Some((attr, unescape(value)?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    /// A DN from its RDNs, leaf first.
    pub fn from_rdns(rdns: &[(&str, &str)]) -> Self {
        Self(
            rdns.iter()
                .map(|(attr, value)| (attr.to_ascii_lowercase(), (*value).to_owned()))
                .collect(),
        )
    }

    /// The comparable form: types and values lowercased.
    pub fn normal(&self) -> Self {
        Self(
            self.0
                .iter()
                .map(|(attr, value)| (attr.clone(), value.to_lowercase()))
                .collect(),
        )
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The entry's own RDN.
    pub fn rdn(&self) -> Option<(&str, &str)> {
        self.0
            .first()
            .map(|(attr, value)| (attr.as_str(), value.as_str()))
    }

    pub fn parent(&self) -> Option<Self> {
        (!self.0.is_empty()).then(|| Self(self.0[1..].to_vec()))
    }

    /// Whether this DN is `ancestor` or below it.
    pub fn is_within(&self, ancestor: &Dn) -> bool {
        self.0.len() >= ancestor.0.len() && self.0.ends_with(&ancestor.0)
    }

    pub fn depth(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (attr, value)) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{attr}={}", escape(value))?;
        }
        Ok(())
    }
}

/// Splits at the separators that are not escaped with a backslash or inside quotes.
fn split_unescaped<'a>(text: &'a str, separators: &[char]) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped, mut quoted) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if !quoted && separators.contains(&c) => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// An attribute value with its escapes (`\,` or `\2C`) resolved and unescaped outer spaces
/// dropped; quotes (the RFC 1779 form) are taken off.
fn unescape(value: &str) -> Option<String> {
    let trimmed = value.trim_start_matches(' ');
    let value = match trimmed.strip_prefix('"') {
        Some(quoted) => quoted.trim_end().strip_suffix('"')?,
        None => trimmed,
    };
    let mut bytes = Vec::with_capacity(value.len());
    let mut chars = value.char_indices().peekable();
    let mut kept = 0;
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            let mut buffer = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
            if c != ' ' {
                kept = bytes.len();
            }
            continue;
        }
        let (_, next) = chars.next()?;
        match chars.peek().map(|(_, c)| *c) {
            Some(low) if next.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                chars.next();
                let pair = [next, low].iter().collect::<String>();
                bytes.push(u8::from_str_radix(&pair, 16).ok()?);
            }
            _ => {
                let mut buffer = [0; 4];
                bytes.extend_from_slice(next.encode_utf8(&mut buffer).as_bytes());
            }
        }
        kept = bytes.len();
    }
    bytes.truncate(kept);
    String::from_utf8(bytes).ok()
}

/// Escapes an attribute value for a DN (RFC 4514 §2.4).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (n, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=')
            || (n == 0 && (c == ' ' || c == '#'))
            || (n == last && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
        } else {
            if special {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(text: &str) -> Dn {
        Dn::parse(text).unwrap().normal()
    }

    #[test]
    fn spacing_case_and_escapes_do_not_matter() {
        assert_eq!(
            normal("CN=Uid-1, OU=Users , dc=Cloudron"),
            normal("cn=uid-1,ou=users,dc=cloudron")
        );
        assert_eq!(
            normal(r"cn=a\,b,ou=groups,dc=cloudron"),
            normal(r"cn=a\2Cb,ou=groups,dc=cloudron")
        );
        assert_eq!(
            Dn::parse(r"cn=\C3\A9t\C3\A9").unwrap().rdn(),
            Some(("cn", "été"))
        );
        assert_eq!(
            Dn::parse(r#"cn="a, b""#).unwrap().rdn(),
            Some(("cn", "a, b"))
        );
        assert_eq!(Dn::parse(r"cn=x\ ").unwrap().rdn(), Some(("cn", "x ")));
        assert_eq!(Dn::parse("cn=x  ").unwrap().rdn(), Some(("cn", "x")));
    }

    #[test]
    fn what_is_not_a_dn_is_refused() {
        for bad in ["cn", "=x", "cn=a+uid=b", r"cn=a\", "c n=x", "cn=x,,dc=y"] {
            assert!(Dn::parse(bad).is_none(), "{bad}");
        }
        assert!(Dn::parse("").unwrap().is_root());
    }

    #[test]
    fn escaped_values_parse_back() {
        for value in [
            " lead",
            "trail ",
            "#hash",
            r#"a,b+c"d\e<f>g;h=i"#,
            "Ça va",
            "x\0y",
        ] {
            let dn = Dn::from_rdns(&[("cn", value), ("ou", "groups")]);
            let text = dn.to_string();
            assert_eq!(Dn::parse(&text).unwrap(), dn, "{text}");
        }
    }

    #[test]
    fn ancestry() {
        let base = normal("ou=users,dc=cloudron");
        let user = normal("cn=uid-1,ou=users,dc=cloudron");
        assert!(user.is_within(&base) && base.is_within(&base));
        assert!(!base.is_within(&user));
        assert_eq!(user.parent().unwrap(), base);
        assert_eq!(user.depth(), 3);
        assert!(user.is_within(&Dn::parse("").unwrap()));
    }
}
