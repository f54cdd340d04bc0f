//! A small HTTP/1.1 client over std's TcpStream for the `famsim serve`
//! tests and the load tool (examples/serve_load.rs): one connection per
//! request, the session cookie kept, server-sent events read line by line.
//! Just enough HTTP for a loopback server famsim itself runs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
}

/// One browser: an address and the cookies the server set.
pub struct Client {
    pub addr: SocketAddr,
    pub cookies: Mutex<Vec<(String, String)>>,
    /// Extra header lines sent with every request (e.g. Authorization).
    pub extra: Vec<String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            cookies: Mutex::new(Vec::new()),
            extra: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().unwrap();
        if cookies.is_empty() {
            return String::new();
        }
        let joined: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("Cookie: {}\r\n", joined.join("; "))
    }

    fn head(&self, method: &str, path: &str, content_type: Option<&str>, len: usize) -> String {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{}",
            self.addr,
            self.cookie_header()
        );
        if let Some(ty) = content_type {
            head.push_str(&format!("Content-Type: {ty}\r\n"));
        }
        if method != "GET" {
            head.push_str(&format!("Content-Length: {len}\r\n"));
        }
        for line in &self.extra {
            head.push_str(line);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        head
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let mut stream = TcpStream::connect(self.addr).expect("connect to famsim serve");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream
            .write_all(self.head(method, path, content_type, body.len()).as_bytes())
            .unwrap();
        // A server refusing a large body may close before reading it all.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let reply = parse(&raw);
        self.remember(&reply);
        reply
    }

    fn remember(&self, reply: &Reply) {
        let mut cookies = self.cookies.lock().unwrap();
        for (k, v) in &reply.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                if let Some((name, value)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                    cookies.retain(|(n, _)| n != name);
                    cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None, b"")
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Reply {
        self.request(
            "POST",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    /// Opens the event stream; dropping it closes the connection (a tab
    /// closing).
    pub fn events(&self) -> Events {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let head = format!(
            "GET /api/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n{}{}\r\n",
            self.addr,
            self.cookie_header(),
            self.extra
                .iter()
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
        );
        stream.write_all(head.as_bytes()).unwrap();
        Events {
            reader: BufReader::new(stream),
        }
    }
}

/// An open server-sent-event stream.
pub struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    /// The next event's data as JSON (comments and keep-alives skipped),
    /// or None when the stream ended.
    pub fn next_event(&mut self) -> Option<serde_json::Value> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            // Chunk sizes of the chunked body and blank lines are not data.
            if let Some(data) = line
                .trim_end()
                .strip_prefix("data: ")
                .or(line.trim_end().strip_prefix("data:"))
            {
                if let Ok(v) = serde_json::from_str(data) {
                    return Some(v);
                }
            }
        }
    }

    /// Reads events until one satisfies `want` (panics after `secs`).
    pub fn wait_for(
        &mut self,
        secs: u64,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            match self.next_event() {
                Some(e) if want(&e) => return e,
                Some(_) => {}
                None => panic!("the event stream ended"),
            }
        }
        panic!("no matching event in {secs} s")
    }
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
}

/// A `famsim serve` process on a free loopback port; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub stderr: PathBuf,
}

impl Server {
    /// Starts `famsim serve --port 0 --data DATA ARGS…` with the famsim
    /// binary at `bin` and waits for the address it prints.
    pub fn start(bin: &Path, data: &Path, args: &[&str]) -> Server {
        std::fs::create_dir_all(data).unwrap();
        let stderr = data.with_extension("stderr.txt");
        let mut child = Command::new(bin)
            .args(["serve", "--port", "0", "--data"])
            .arg(data)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("famsim serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "famsim serve printed no address: {line:?}; stderr: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        Server {
            child,
            addr,
            data: data.to_path_buf(),
            stderr,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends SIGINT (Ctrl-C) and waits for the process to end.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on the id of a child this struct started.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
