//! The CloudFront API calls ImageCDN makes, served on their own port in CloudFront's
//! REST-XML shape (API version 2020-05-31): CreateInvalidation, GetInvalidation and
//! ListInvalidations. The AWS SDKs and CLI reach it with `--endpoint-url`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use quick_xml::escape::escape;
use quick_xml::events::Event;

use super::Cdn;
use super::invalidations::{Invalidation, InvalidationError};

const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

pub fn router(cdn: Arc<Cdn>) -> Router {
    Router::new()
        .route(
            "/2020-05-31/distribution/{distribution}/invalidation",
            get(list).post(create),
        )
        .route(
            "/2020-05-31/distribution/{distribution}/invalidation/{id}",
            get(get_one),
        )
        .with_state(cdn)
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut rsp = (
        status,
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
        .into_response();
    rsp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    rsp
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>imagecdn-dev</RequestId></ErrorResponse>",
        escape(message)
    );
    xml(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
    )
}

fn no_such_distribution(id: &str) -> Response {
    error(
        404,
        "NoSuchDistribution",
        &format!("The specified distribution does not exist: {id}"),
    )
}

fn invalidation_xml(i: &Invalidation, status: &str) -> String {
    let items: String = i
        .paths
        .iter()
        .map(|p| format!("<Path>{}</Path>", escape(p)))
        .collect();
    format!(
        "<Invalidation xmlns=\"{NS}\"><Id>{}</Id><Status>{status}</Status><CreateTime>{}</CreateTime><InvalidationBatch><Paths><Quantity>{}</Quantity><Items>{items}</Items></Paths><CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
        i.id,
        i.create_time,
        i.paths.len(),
        escape(&i.caller_reference)
    )
}

/// The paths and caller reference of an `InvalidationBatch` document.
pub fn parse_batch(body: &[u8]) -> Result<(String, Vec<String>), String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let (mut caller_reference, mut paths) = (String::new(), Vec::new());
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                text.clear();
            }
            Ok(Event::End(_)) => {
                match stack.pop().as_deref() {
                    Some("Path") => paths.push(std::mem::take(&mut text)),
                    Some("CallerReference") => caller_reference = std::mem::take(&mut text),
                    _ => {}
                }
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            // Entity and character references arrive apart from the text around them.
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_xml_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_string(),
                };
                text.push_str(&resolved);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("malformed XML: {e}")),
        }
    }
    if !stack.is_empty() {
        return Err("malformed XML: unclosed elements".into());
    }
    Ok((caller_reference, paths))
}

async fn create(
    State(cdn): State<Arc<Cdn>>,
    Path(distribution): Path<String>,
    body: Bytes,
) -> Response {
    if distribution != cdn.model.distribution_id {
        return no_such_distribution(&distribution);
    }
    let (caller_reference, paths) = match parse_batch(&body) {
        Ok(b) => b,
        Err(e) => return error(400, "MalformedInput", &e),
    };
    match cdn.create_invalidation(&caller_reference, &paths) {
        Ok(i) => {
            let mut rsp = xml(
                StatusCode::CREATED,
                invalidation_xml(&i, i.status(cdn.invalidations.in_progress_for)),
            );
            let location = format!(
                "/2020-05-31/distribution/{distribution}/invalidation/{}",
                i.id
            );
            if let Ok(v) = HeaderValue::from_str(&location) {
                rsp.headers_mut().insert(header::LOCATION, v);
            }
            rsp
        }
        Err(e) => invalidation_error(&e),
    }
}

fn invalidation_error(e: &InvalidationError) -> Response {
    error(e.status(), e.code(), &e.to_string())
}

async fn get_one(
    State(cdn): State<Arc<Cdn>>,
    Path((distribution, id)): Path<(String, String)>,
) -> Response {
    if distribution != cdn.model.distribution_id {
        return no_such_distribution(&distribution);
    }
    match cdn.invalidations.get(&id) {
        Some(i) => xml(
            StatusCode::OK,
            invalidation_xml(&i, i.status(cdn.invalidations.in_progress_for)),
        ),
        None => error(
            404,
            "NoSuchInvalidation",
            &format!("The specified invalidation does not exist: {id}"),
        ),
    }
}

async fn list(State(cdn): State<Arc<Cdn>>, Path(distribution): Path<String>) -> Response {
    if distribution != cdn.model.distribution_id {
        return no_such_distribution(&distribution);
    }
    let all = cdn.invalidations.list();
    let items: String = all
        .iter()
        .map(|i| {
            format!(
                "<InvalidationSummary><Id>{}</Id><CreateTime>{}</CreateTime><Status>{}</Status></InvalidationSummary>",
                i.id,
                i.create_time,
                i.status(cdn.invalidations.in_progress_for)
            )
        })
        .collect();
    xml(
        StatusCode::OK,
        format!(
            "<InvalidationList xmlns=\"{NS}\"><Marker></Marker><MaxItems>{}</MaxItems><IsTruncated>false</IsTruncated><Quantity>{}</Quantity><Items>{items}</Items></InvalidationList>",
            all.len().max(100),
            all.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_parse_with_escapes() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>2</Quantity><Items><Path>/shop/a&amp;b.jpg</Path><Path>/shop/*</Path></Items></Paths><CallerReference>ref-1</CallerReference></InvalidationBatch>"#;
        let (r, p) = parse_batch(body).unwrap();
        assert_eq!(r, "ref-1");
        assert_eq!(p, ["/shop/a&b.jpg", "/shop/*"]);
        assert!(parse_batch(b"<a><b></a>").is_err());
    }
}
