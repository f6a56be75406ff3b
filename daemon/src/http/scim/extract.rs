//! What a SCIM request carries, read once: the JSON body (content type,
//! size, syntax), `If-Match`, and the list parameters of a query string or a
//! `.search` body.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use roster_shared::scim::body::parse_body;
use roster_shared::scim::{
    CONTENT_TYPE, FilterLimits, Projection, ResourceKind, ScimError, ScimFilter, ScimType,
};
use serde_json::Value;

use super::ScimFailure;
use crate::config::ScimConfig;
use crate::service::scim::ScimQuery;

/// A JSON body sent as `application/json` or `application/scim+json` (any
/// parameters): another type → 415, too large → 413, malformed → 400.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            let media = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if media != "application/json" && media != CONTENT_TYPE {
                return Err(ScimFailure(ScimError::new(
                    415,
                    None,
                    format!(
                        "Content-Type {ct} is not supported; send application/scim+json or application/json"
                    ),
                )));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            ScimFailure(if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    413,
                    Some(ScimType::TooMany),
                    "the request body is larger than the limit in ServiceProviderConfig (http.max_body_bytes)",
                )
            } else {
                ScimError::bad(ScimType::InvalidSyntax, format!("the request body could not be read: {r}"))
            })
        })?;
        parse_body(&bytes)
            .map(Self)
            .map_err(|e| ScimFailure(ScimError::bad(ScimType::InvalidSyntax, e.to_string())))
    }
}

/// The `If-Match` header, if any.
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .headers
                .get(header::IF_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        ))
    }
}

/// List and projection parameters, from the query string or a `.search`
/// body; names match case-insensitively. A name given twice with different
/// values is refused: which one the client meant cannot be known. A handful
/// of pairs: a list searched in order beats a map.
pub struct ScimParams(Vec<(String, Value)>);

impl<S: Send + Sync> FromRequestParts<S> for ScimParams {
    type Rejection = std::convert::Infallible;

    /// Every identity-provider lookup carries a query string: read it
    /// directly, without a serde pass into a map (a seventh of the CPU a
    /// filter request cost). Malformed percent-escapes read as they are.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        ))
    }
}

impl ScimParams {
    /// The parameters of a `.search` body.
    pub fn from_search(body: Value) -> Result<Self, ScimFailure> {
        match body {
            Value::Object(o) => Ok(Self(o.into_iter().collect())),
            _ => Err(ScimFailure(ScimError::bad(
                ScimType::InvalidSyntax,
                "a .search body must be a JSON object",
            ))),
        }
    }

    fn get(&self, name: &str) -> Result<Option<&Value>, ScimFailure> {
        let mut given = self
            .0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        let first = given.next();
        if let Some(other) = given.find(|v| Some(*v) != first) {
            let shown = |v: &Value| match v {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            };
            return Err(invalid(format!(
                "the query gives {name} twice, as {} and as {}: give it once",
                first.map(shown).unwrap_or_default(),
                shown(other)
            )));
        }
        Ok(first.filter(|v| !v.is_null()))
    }

    /// A text parameter; a list (from a `.search` body) is joined by commas.
    fn text(&self, name: &str) -> Result<Option<String>, ScimFailure> {
        match self.get(name)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => Ok(Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Some(other) => Err(invalid(format!("{name} must be a string, not {other}"))),
        }
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ScimFailure> {
        match self.get(name)? {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| invalid(format!("{name} must be an integer, not {n}"))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| invalid(format!("{name} must be an integer, not {s:?}"))),
            Some(other) => Err(invalid(format!("{name} must be an integer, not {other}"))),
        }
    }

    /// `attributes` and `excludedAttributes`.
    pub fn projection(&self) -> Result<Projection, ScimFailure> {
        Ok(Projection::new(
            self.text("attributes")?.as_deref(),
            self.text("excludedAttributes")?.as_deref(),
        ))
    }

    /// The whole list query of `kind` resources, bounded by the configured
    /// limits: `startIndex` below 1 is 1, `count` is lowered to
    /// `max_results` (RFC 7644 §3.4.2.4); a filter whose comparisons the
    /// attributes' types do not allow is refused.
    pub fn query(&self, limits: &ScimConfig, kind: ResourceKind) -> Result<ScimQuery, ScimFailure> {
        let filter = match self.text("filter")?.filter(|f| !f.trim().is_empty()) {
            Some(f) => {
                let filter = ScimFilter::parse(
                    &f,
                    FilterLimits {
                        max_chars: limits.max_filter_chars,
                    },
                )?;
                filter.check(kind)?;
                Some(filter)
            }
            None => None,
        };
        let descending = match self
            .text("sortOrder")?
            .map(|o| o.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "sortOrder {other:?} is not ascending or descending"
                )));
            }
        };
        let max = limits.max_results as i64;
        Ok(ScimQuery {
            filter,
            sort_by: self.text("sortBy")?.filter(|x| !x.trim().is_empty()),
            descending,
            start_index: self.int("startIndex")?.unwrap_or(1).max(1) as usize,
            count: self.int("count")?.unwrap_or(max).clamp(0, max) as usize,
            projection: self.projection()?,
        })
    }
}

fn invalid(detail: String) -> ScimFailure {
    ScimFailure(ScimError::invalid_value(detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn params(uri: &str) -> ScimParams {
        let (mut parts, ()) = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .expect("request")
            .into_parts();
        let Ok(p) = ScimParams::from_request_parts(&mut parts, &()).await;
        p
    }

    #[tokio::test]
    async fn query_names_match_in_any_case_and_a_name_given_twice_must_agree() {
        let p = params("/Users?Filter=userName%20eq%20%22a%2Bb%40x.org%22&count=2&COUNT=2&bad=%zz")
            .await;
        let got = |name: &str| p.get(name).expect(name).cloned();
        assert_eq!(
            got("filter"),
            Some(Value::String(r#"userName eq "a+b@x.org""#.into()))
        );
        assert_eq!(
            got("count"),
            Some(Value::String("2".into())),
            "the same twice"
        );
        assert_eq!(got("bad"), Some(Value::String("%zz".into())));
        assert_eq!(got("startIndex"), None);
        assert!(matches!(params("/Users").await.get("filter"), Ok(None)));

        let twice = params("/Users?count=1&COUNT=2").await;
        let Err(ScimFailure(e)) = twice.get("count") else {
            panic!("two counts are refused");
        };
        assert_eq!(
            e.detail,
            r#"the query gives count twice, as "1" and as "2": give it once"#
        );
    }
}
