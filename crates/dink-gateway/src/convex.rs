//! A small HTTP/1.1 client for the Convex routes the gateway calls (`applyDelta`, `changes`,
//! `getSnapshot`): hyper's connection-level client over TCP or tokio-rustls (native roots),
//! with a few idle keep-alive connections per origin. Every call is bounded by a timeout; a
//! connection whose request timed out is closed (its task aborted), never reused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::task::AbortHandle;
use tokio_rustls::rustls;

/// Largest response body read (a `changes` page carries up to 8 MiB of delta bytes, base64).
pub const MAX_RESPONSE: usize = 32 * 1024 * 1024;
const IDLE_PER_ORIGIN: usize = 8;

/// A response: status and the whole body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Bytes,
}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    task: AbortHandle,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
pub struct HttpClient {
    idle: Mutex<HashMap<String, Vec<Conn>>>,
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CFG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CFG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for c in found.certs {
            let _ = roots.add(c);
        }
        if roots.is_empty() {
            return Err("no trusted root certificates found on this machine".into());
        }
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Arc::new(cfg))
    })
    .clone()
}

impl HttpClient {
    /// `method url` with `headers` and an optional body, within `timeout` (connect included).
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<HttpResponse, String> {
        let uri: Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("bad URL {url:?}: http or https only")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("bad URL {url:?}: no host"))?
            .clone();
        let host = authority.host().trim_matches(['[', ']']).to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let origin = format!("{}://{}", if https { "https" } else { "http" }, authority);
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, authority.as_str());
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("request: {e}"))?;
        let work = async {
            let mut conn = match self.take_idle(&origin).await {
                Some(c) => c,
                None => connect(&host, port, https).await?,
            };
            let resp = conn
                .sender
                .send_request(req)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| format!("reading the response: {e}"))?
                .to_bytes();
            Ok::<_, String>((conn, HttpResponse { status, body }))
        };
        let (conn, resp) = tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("timed out after {} ms", timeout.as_millis()))??;
        self.put_idle(origin, conn);
        Ok(resp)
    }

    async fn take_idle(&self, origin: &str) -> Option<Conn> {
        loop {
            let c = self.idle.lock().ok()?.get_mut(origin)?.pop()?;
            if c.sender.is_closed() {
                continue;
            }
            let mut c = c;
            if c.sender.ready().await.is_ok() {
                return Some(c);
            }
        }
    }

    fn put_idle(&self, origin: String, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            let v = idle.entry(origin).or_default();
            if v.len() < IDLE_PER_ORIGIN {
                v.push(conn);
            }
        }
    }
}

async fn connect(host: &str, port: u16, https: bool) -> Result<Conn, String> {
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if https {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| format!("bad host {host:?}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}: {e}"))?;
        handshake(TokioIo::new(tls)).await
    } else {
        handshake(TokioIo::new(tcp)).await
    }
}

async fn handshake<T>(io: T) -> Result<Conn, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    })
    .abort_handle();
    Ok(Conn { sender, task })
}

/// Percent-encode a query value (everything but unreserved characters).
pub fn enc(v: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(v, SET).to_string()
}
