//! Claims import: JSON lines or CSV, every row checked before anything is stored; a bad
//! row refuses the whole import with its row number.
//!
//! A JSON line:
//! `{"ref": "R-0001", "login": "idp-subject", "claims": {<core's claims JSON, no identity>},
//!   "identity": {"name": "张小明", "number": "11010519491231002X", "digest": "sha256"}}`
//! (`login` and `identity` optional). CSV has a header row naming these columns (any
//! order; unknown columns refused): `ref`, `login`, `name`, `id_number`, `id_digest`,
//! `health_status`, `health_valid_until_day`, `insurance_region`, `insurance_status`,
//! `social_security_status`, `transit_account`, `transit_fare_class`,
//! `transit_vehicle_payment` (`true`/`false`), `tourism` (`kind:site:day` entries joined
//! by `;`). Empty cells are absent values.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::keys::NumberSeal;
use crate::store::records::ResidentRow;

/// Most rows one import may hold.
pub const MAX_ROWS: usize = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    login: Option<String>,
    claims: Value,
    #[serde(default)]
    identity: Option<IdentityIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityIn {
    name: String,
    number: zeroize::Zeroizing<String>,
    #[serde(default)]
    digest: Option<citycode::claims::IdDigest>,
}

fn row_error(row: usize, detail: impl Into<String>) -> Error {
    Error::ImportRow { row, detail: detail.into() }
}

/// Checks one resident and seals the number: the reference and login, the claims (core's
/// rules; no identity or guardianship inside them), the name and number (SPEC.md §4.3).
fn resident(
    row: usize,
    reference: String,
    login: Option<String>,
    claims: Value,
    identity: Option<IdentityIn>,
    seal: &NumberSeal,
) -> Result<ResidentRow, Error> {
    let text_ok = |s: &str| !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
    if !text_ok(&reference) {
        return Err(row_error(row, "ref is 1 to 128 characters"));
    }
    if login.as_deref().is_some_and(|l| !text_ok(l)) {
        return Err(row_error(row, "login is 1 to 128 characters"));
    }
    let claims: citycode::Claims =
        serde_json::from_value(claims).map_err(|e| row_error(row, format!("claims: {e}")))?;
    if claims.identity.is_some() {
        return Err(row_error(row, "identity goes in \"identity\" (name and number), not in the claims"));
    }
    if claims.guardian.is_some() {
        return Err(row_error(row, "guardianship is recorded by the service, not imported"));
    }
    if claims.domain_ids().is_empty() {
        return Err(row_error(row, "no claims"));
    }
    claims.validate().map_err(|r| row_error(row, format!("claims: {r}")))?;
    let claims = serde_json::to_string(&claims).map_err(|e| row_error(row, e.to_string()))?;
    let (id_name, id_number, id_digest) = match identity {
        None => (None, None, None),
        Some(i) => {
            let digest = i.digest.unwrap_or(citycode::claims::IdDigest::Sha256);
            // The document's rules checked now, not at the first issuance.
            citycode::IdentityDocument::new(&i.name, &i.number, digest)
                .map_err(|e| row_error(row, format!("identity: {e}")))?;
            let sealed = seal.seal(&reference, i.number.trim())?;
            (Some(i.name), Some(sealed), Some(i64::from(digest.to_byte())))
        }
    };
    Ok(ResidentRow { reference, login, claims, id_name, id_number, id_digest })
}

fn check_unique(rows: &[ResidentRow], first_row: usize) -> Result<(), Error> {
    let mut refs = std::collections::HashMap::new();
    let mut logins = std::collections::HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if refs.insert(r.reference.as_str(), i).is_some() {
            return Err(row_error(i + first_row, "ref appears twice in the import"));
        }
        if let Some(l) = &r.login
            && logins.insert(l.as_str(), i).is_some()
        {
            return Err(row_error(i + first_row, "login appears twice in the import"));
        }
    }
    Ok(())
}

/// Parses JSON lines (blank lines skipped; row numbers count every line from 1).
pub fn parse_json_lines(text: &str, seal: &NumberSeal) -> Result<Vec<ResidentRow>, Error> {
    let mut rows = Vec::new();
    let mut numbers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() >= MAX_ROWS {
            return Err(row_error(row, format!("an import holds at most {MAX_ROWS} rows")));
        }
        let l: Line = serde_json::from_str(line).map_err(|e| row_error(row, e.to_string()))?;
        rows.push(resident(row, l.reference, l.login, l.claims, l.identity, seal)?);
        numbers.push(row);
    }
    if rows.is_empty() {
        return Err(Error::BadRequest("the import holds no row".into()));
    }
    // Duplicates reported by their own line number.
    let mut refs = std::collections::HashSet::new();
    let mut logins = std::collections::HashSet::new();
    for (r, row) in rows.iter().zip(&numbers) {
        if !refs.insert(r.reference.as_str()) {
            return Err(row_error(*row, "ref appears twice in the import"));
        }
        if let Some(l) = &r.login
            && !logins.insert(l.as_str())
        {
            return Err(row_error(*row, "login appears twice in the import"));
        }
    }
    Ok(rows)
}

/// Splits one CSV record (RFC 4180: quoted fields, `""` for a quote inside).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                    if chars.peek().is_some_and(|&c| c != ',') {
                        return Err("text after a closing quote".into());
                    }
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("an unclosed quote".into());
    }
    fields.push(field);
    Ok(fields)
}

const CSV_COLUMNS: &[&str] = &[
    "ref",
    "login",
    "name",
    "id_number",
    "id_digest",
    "health_status",
    "health_valid_until_day",
    "insurance_region",
    "insurance_status",
    "social_security_status",
    "transit_account",
    "transit_fare_class",
    "transit_vehicle_payment",
    "tourism",
];

/// Parses CSV with a header row (row 1); data rows are numbered from 2.
pub fn parse_csv(text: &str, seal: &NumberSeal) -> Result<Vec<ResidentRow>, Error> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| Error::BadRequest("the import holds no row".into()))?;
    let header = csv_fields(header.trim_start_matches('\u{feff}')).map_err(|e| row_error(1, e))?;
    for h in &header {
        if !CSV_COLUMNS.contains(&h.trim()) {
            return Err(row_error(1, format!("unknown column {h:?}")));
        }
    }
    if !header.iter().any(|h| h.trim() == "ref") {
        return Err(row_error(1, "no ref column"));
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let row = i + 1;
        if rows.len() >= MAX_ROWS {
            return Err(row_error(row, format!("an import holds at most {MAX_ROWS} rows")));
        }
        let fields = csv_fields(line).map_err(|e| row_error(row, e))?;
        if fields.len() != header.len() {
            return Err(row_error(row, format!("{} fields, the header has {}", fields.len(), header.len())));
        }
        let cell = |name: &str| -> Option<String> {
            header
                .iter()
                .position(|h| h.trim() == name)
                .and_then(|i| fields.get(i))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let int = |name: &str| -> Result<Option<u64>, Error> {
            cell(name)
                .map(|v| v.parse::<u64>().map_err(|_| row_error(row, format!("{name}: not a number"))))
                .transpose()
        };
        let mut claims = Map::new();
        if let Some(status) = cell("health_status") {
            let day = int("health_valid_until_day")?.ok_or_else(|| row_error(row, "health_valid_until_day missing"))?;
            claims.insert("health".into(), json!({"status": status, "valid_until_day": day}));
        }
        if cell("insurance_region").is_some() || cell("insurance_status").is_some() {
            let mut m = Map::new();
            if let Some(r) = int("insurance_region")? {
                m.insert("region".into(), json!(r));
            }
            if let Some(s) = cell("insurance_status") {
                m.insert("status".into(), json!(s));
            }
            claims.insert("medical_insurance".into(), Value::Object(m));
        }
        if let Some(s) = cell("social_security_status") {
            claims.insert("social_security".into(), json!({"status": s}));
        }
        if ["transit_account", "transit_fare_class", "transit_vehicle_payment"].iter().any(|c| cell(c).is_some()) {
            let mut m = Map::new();
            if let Some(a) = cell("transit_account") {
                m.insert("account".into(), json!(a));
            }
            if let Some(f) = cell("transit_fare_class") {
                m.insert("fare_class".into(), json!(f));
            }
            if let Some(v) = cell("transit_vehicle_payment") {
                let v = match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(row_error(row, "transit_vehicle_payment: true or false")),
                };
                m.insert("vehicle_payment".into(), json!(v));
            }
            claims.insert("transit".into(), Value::Object(m));
        }
        if let Some(t) = cell("tourism") {
            let mut entries = Vec::new();
            for e in t.split(';') {
                let parts: Vec<&str> = e.trim().split(':').collect();
                let [kind, site, day] = parts.as_slice() else {
                    return Err(row_error(row, "tourism: kind:site:day entries joined by ;"));
                };
                let num = |v: &str| v.parse::<u64>().map_err(|_| row_error(row, "tourism: site and day are numbers"));
                entries.push(json!({"kind": kind, "site": num(site)?, "day": num(day)?}));
            }
            claims.insert("tourism".into(), json!({"entries": entries}));
        }
        let identity = match (cell("name"), cell("id_number")) {
            (None, None) => None,
            (Some(name), Some(number)) => {
                let digest = match cell("id_digest").as_deref() {
                    None | Some("sha256") => None,
                    Some("sm3") => Some(citycode::claims::IdDigest::Sm3),
                    Some(other) => return Err(row_error(row, format!("id_digest: {other:?} (sha256 or sm3)"))),
                };
                Some(IdentityIn { name, number: zeroize::Zeroizing::new(number), digest })
            }
            _ => return Err(row_error(row, "name and id_number go together")),
        };
        let reference = cell("ref").ok_or_else(|| row_error(row, "ref is empty"))?;
        rows.push((row, resident(row, reference, cell("login"), Value::Object(claims), identity, seal)?));
    }
    if rows.is_empty() {
        return Err(Error::BadRequest("the import holds no data row".into()));
    }
    let first = rows.first().map_or(2, |(r, _)| *r);
    let numbers: Vec<usize> = rows.iter().map(|(r, _)| *r).collect();
    let rows: Vec<ResidentRow> = rows.into_iter().map(|(_, r)| r).collect();
    check_unique(&rows, first).map_err(|e| match e {
        Error::ImportRow { row, detail } => {
            Error::ImportRow { row: numbers.get(row - first).copied().unwrap_or(row), detail }
        }
        other => other,
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn seal() -> NumberSeal {
        NumberSeal::new(&[1; 32]).unwrap()
    }

    #[test]
    fn csv_fields_follow_rfc_4180() {
        assert_eq!(csv_fields(r#"a,"b,c","d""e",,f"#).unwrap(), vec!["a", "b,c", "d\"e", "", "f"]);
        assert!(csv_fields(r#"a,"b"#).is_err());
        assert!(csv_fields(r#""a"b,c"#).is_err());
    }

    #[test]
    fn csv_and_json_lines_give_the_same_resident() {
        let csv = "ref,login,name,id_number,health_status,health_valid_until_day,transit_account,transit_fare_class,transit_vehicle_payment,tourism\n\
                   R1,sub-1,张小明,11010519491231002X,green,20500,active,standard,true,pass:1024:20500;reservation:7:20400\n";
        let line = r#"{"ref":"R1","login":"sub-1","claims":{"health":{"status":"green","valid_until_day":20500},"transit":{"account":"active","fare_class":"standard","vehicle_payment":true},"tourism":{"entries":[{"kind":"pass","site":1024,"day":20500},{"kind":"reservation","site":7,"day":20400}]}},"identity":{"name":"张小明","number":"11010519491231002X"}}"#;
        let a = parse_csv(csv, &seal()).unwrap();
        let b = parse_json_lines(line, &seal()).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!((&a[0].reference, &a[0].claims, &a[0].id_name), (&b[0].reference, &b[0].claims, &b[0].id_name));
        assert_eq!(seal().open("R1", a[0].id_number.as_ref().unwrap()).unwrap().as_str(), "11010519491231002X");
    }

    #[test]
    fn a_bad_row_is_refused_with_its_number() {
        let row = |e: Error| match e {
            Error::ImportRow { row, .. } => row,
            other => panic!("{other}"),
        };
        let good = r#"{"ref":"R1","claims":{"social_security":{"status":"retired"}}}"#;
        let bad_enum = r#"{"ref":"R2","claims":{"social_security":{"status":"rich"}}}"#;
        assert_eq!(row(parse_json_lines(&format!("{good}\n\n{bad_enum}"), &seal()).unwrap_err()), 3);
        let identity_in_claims = r#"{"ref":"R3","claims":{"identity":{"name":"a","digest":"sha256","salt":"00000000000000000000000000000000","commitment":"00000000000000000000000000000000"}}}"#;
        assert_eq!(row(parse_json_lines(&format!("{good}\n{identity_in_claims}"), &seal()).unwrap_err()), 2);
        let bad_number = r#"{"ref":"R4","claims":{"social_security":{"status":"retired"}},"identity":{"name":"王","number":"12-34"}}"#;
        assert_eq!(row(parse_json_lines(bad_number, &seal()).unwrap_err()), 1);
        let twice = format!("{good}\n{good}");
        assert_eq!(row(parse_json_lines(&twice, &seal()).unwrap_err()), 2);
        let csv = "ref,social_security_status\nR1,retired\nR2,rich\n";
        assert_eq!(row(parse_csv(csv, &seal()).unwrap_err()), 3);
        assert_eq!(row(parse_csv("ref,shoe_size\nR1,42\n", &seal()).unwrap_err()), 1);
        assert_eq!(row(parse_csv("ref,social_security_status\nR1,retired\nR1,retired\n", &seal()).unwrap_err()), 3);
    }
}
