//! What an operator relies on: metrics and request ids, readiness, the limits that protect
//! the server from a misbehaving client, and a graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use coopdir_e2e::{PASSWORD, Server, StatusCode, free_port, json, seed};

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123456789";

/// A request whose body is sent in two halves, so that it is in flight as long as the
/// test wants.
struct SlowRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    fn start(server: &Server, method: &str, path: &str, content_type: &str, body: &str) -> Self {
        let mut stream = TcpStream::connect(&server.listen).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            server.listen,
            server.token,
            body.len()
        );
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).expect("send head");
        stream.write_all(first).expect("send half");
        stream.flush().expect("flush");
        SlowRequest {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Sends the rest of the body and reads the status of the answer.
    fn finish(mut self) -> u16 {
        self.stream.write_all(&self.rest).expect("send rest");
        self.answer()
    }

    /// Reads the status of the answer without sending anything more.
    fn answer(&mut self) -> u16 {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let text = String::from_utf8_lossy(&buffer);
        text.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
    }
}

/// A POST of a new worker named `name` whose body is half sent.
fn slow_worker_post(server: &Server, name: &str) -> SlowRequest {
    SlowRequest::start(
        server,
        "POST",
        "/workers/",
        "text/turtle",
        &worker_turtle(server, name),
    )
}

fn worker_turtle(server: &Server, name: &str) -> String {
    format!(
        "@prefix schema: <http://schema.org/> . <> a schema:Person ; schema:name \"{name}\" ; schema:memberOf <{}> .",
        server.url("/coops/test-co-op")
    )
}

/// The value of the sample `name{labels}` in a Prometheus text exposition, 0 if absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn scrape(server: &Server, path_base: &str) -> String {
    let r = server
        .client()
        .get(format!("{path_base}metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    r.text().expect("text")
}

#[test]
fn metrics_count_requests_per_route_pattern_and_request_ids_reach_the_log() {
    let metrics_port = free_port();
    let metrics_base = format!("http://127.0.0.1:{metrics_port}/");
    let server = Server::start_logged(&[
        "--metrics-token",
        METRICS_TOKEN,
        "--metrics-listen",
        &format!("127.0.0.1:{metrics_port}"),
    ]);
    let worker = seed(&server);
    let series = |status: u16| {
        format!(
            "coopdir_http_requests_total{{route=\"/{{container}}/{{slug}}\",method=\"GET\",status=\"{status}\"}}"
        )
    };
    let before = scrape(&server, &server.base);
    for _ in 0..25 {
        let r = server.get(&worker, "application/ld+json");
        assert_eq!(r.status(), StatusCode::OK);
    }
    for _ in 0..3 {
        let r = server.get("/workers/nobody-at-all", "application/ld+json");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let after = scrape(&server, &server.base);
    assert_eq!(
        sample(&after, &series(200)) - sample(&before, &series(200)),
        25.0
    );
    assert_eq!(
        sample(&after, &series(404)) - sample(&before, &series(404)),
        3.0
    );
    // Three creates by seed are writes; the latency histogram counts every GET.
    assert!(
        sample(&after, "coopdir_http_writes_total") >= 3.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "coopdir_http_request_duration_seconds_count{route=\"/{container}/{slug}\",method=\"GET\"}"
        ) >= 28.0,
        "{after}"
    );
    // The store's state: resources, change-log head, index lag.
    assert_eq!(
        sample(&after, "coopdir_resources{container=\"workers\"}"),
        1.0
    );
    assert!(sample(&after, "coopdir_change_log_head") >= 3.0);
    assert!(sample(&after, "coopdir_store_bytes") > 0.0);
    assert!(
        after.contains("coopdir_index_lag{index=\"search\"}"),
        "{after}"
    );
    assert!(
        after.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );

    // Only the token, a server admin or the metrics listener may read them.
    let anonymous = server.client().get(server.url("/metrics")).send().unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = server
        .client()
        .get(server.url("/metrics"))
        .bearer_auth("metrics-token-for-the-tests-but-wrong")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let admin = server.get_authenticated("/metrics", "*/*");
    assert_eq!(admin.status(), StatusCode::OK);
    let open = server
        .client()
        .get(format!("{metrics_base}metrics"))
        .send()
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.text().unwrap().contains("coopdir_http_requests_total"));
    let not_api = server
        .client()
        .get(format!("{metrics_base}workers/"))
        .send()
        .unwrap();
    assert_eq!(
        not_api.status(),
        StatusCode::NOT_FOUND,
        "the metrics listener serves no data"
    );

    // Ready: the store answers and every consumer of the change log has caught up.
    let ready = server.client().get(server.url("/ready")).send().unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready = json(ready);
    for check in ["store", "search", "sparql", "outbox"] {
        assert_eq!(ready["checks"][check]["ok"], true, "{ready}");
    }

    // Request ids: a plain one from the client is kept, an odd one replaced, a missing
    // one made; each is on the log lines of its request.
    let kept = server
        .client()
        .get(server.url(&worker))
        .header("X-Request-Id", "trace-4711.abc")
        .send()
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-4711.abc");
    let odd = server
        .client()
        .get(server.url(&worker))
        .header(
            "X-Request-Id",
            "an id with spaces, which could forge log fields",
        )
        .send()
        .unwrap();
    let replaced = odd.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(replaced.len(), 32, "{replaced}");
    let made = server
        .client()
        .get(server.url("/workers/nobody-at-all"))
        .send()
        .unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(made, replaced);
    // The access-log line is written after the answer: give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(server.log.as_ref().unwrap()).unwrap();
    for id in ["trace-4711.abc", &replaced, &made] {
        let line = log
            .lines()
            .find(|l| l.contains(id) && l.contains("answered"))
            .unwrap_or_else(|| panic!("no access-log line with the request id {id}"));
        assert!(line.contains("status="), "{line}");
    }
    assert!(
        log.lines()
            .any(|l| l.contains(&made) && l.contains("status=404"))
    );
}

#[test]
fn each_limit_answers_with_its_own_status() {
    let server = Server::start_with(&[
        "--request-timeout",
        "1s",
        "--max-concurrent-requests",
        "2",
        "--max-header-bytes",
        "4096",
        "--max-triples-per-write",
        "100",
        "--writes-per-minute",
        "10",
        "--logins-per-minute",
        "3",
    ]);
    seed(&server);
    let problem = |r: reqwest::blocking::Response| {
        let status = r.status();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{status}"
        );
        (status, retry, json(r))
    };

    // 431: headers over the limit.
    let r = server
        .client()
        .get(server.url("/workers/"))
        .header("X-Padding", "x".repeat(5000))
        .send()
        .unwrap();
    let (status, _, body) = problem(r);
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(body["detail"].as_str().unwrap().contains("4096"), "{body}");

    // 413: more triples than one write may carry, in Turtle and in JSON-LD; nothing stored.
    let many: String = (0..150)
        .map(|i| format!(" ; schema:alternateName \"alias {i}\""))
        .collect();
    let body = format!(
        "@prefix schema: <http://schema.org/> . <> a schema:Person ; schema:name \"Many\" ; schema:memberOf <{}>{many} .",
        server.url("/coops/test-co-op")
    );
    let r = server.post("/workers/", "text/turtle", &body);
    let (status, _, problem_body) = problem(r);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        problem_body["detail"]
            .as_str()
            .unwrap()
            .contains("100 triples"),
        "{problem_body}"
    );
    let names: Vec<String> = (0..150).map(|i| format!("\"alias {i}\"")).collect();
    let jsonld = format!(
        r#"{{"@context": "{}", "@id": "", "@type": "Worker", "name": [{}]}}"#,
        server.url("/context.jsonld"),
        names.join(",")
    );
    let r = server.post("/workers/", "application/ld+json", &jsonld);
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // 413: lists nested deeper than any profile needs, refused before the parser runs
    // (the body of 100,000 nested lists that used to cost seconds).
    let deep = format!(
        "<> <http://schema.org/name> {}1{} .",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let r = server.post("/workers/", "text/turtle", &deep);
    let (status, _, problem_body) = problem(r);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        problem_body["detail"].as_str().unwrap().contains("deep"),
        "{problem_body}"
    );
    assert_eq!(
        server.get("/workers/many", "application/ld+json").status(),
        StatusCode::NOT_FOUND,
        "nothing refused was stored"
    );

    // 408: a body that does not arrive within the request timeout.
    let mut stalled = slow_worker_post(&server, "Stalled");
    assert_eq!(stalled.answer(), 408);

    // 503 with Retry-After: two requests in flight fill the server; a third is refused at
    // once, while /health still answers.
    let first = slow_worker_post(&server, "First Slow");
    let second = slow_worker_post(&server, "Second Slow");
    std::thread::sleep(Duration::from_millis(200));
    let (status, retry, _) = problem(server.get("/workers/", "application/ld+json"));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry.as_deref(), Some("1"));
    let health = server.client().get(server.url("/health")).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(first.finish(), 201);
    assert_eq!(second.finish(), 201);
    let r = server.get("/workers/", "application/ld+json");
    assert_eq!(r.status(), StatusCode::OK, "capacity is back");

    // 429 with Retry-After: a member writing faster than the write rate (a burst of 10);
    // a server admin is exempt.
    let (_, member_token) =
        server.add_person("test-co-op", "fast@example.org", "Fast Writer", "member");
    let mut limited = None;
    for i in 0..15 {
        let r = server
            .client()
            .post(server.url("/projects/"))
            .bearer_auth(&member_token)
            .header("Content-Type", "text/turtle")
            .body(format!(
                "@prefix schema: <http://schema.org/> . <> a schema:Project ; schema:name \"Project {i}\" ."
            ))
            .send()
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, problem(r)));
            break;
        }
    }
    let (after, (_, retry, body)) = limited.expect("the member was limited");
    assert!(after >= 10, "the burst of 10 was allowed, got only {after}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert!(
        body["detail"].as_str().unwrap().contains("writes"),
        "{body}"
    );
    for i in 0..15 {
        let r = server.post(
            "/workers/",
            "text/turtle",
            &worker_turtle(&server, &format!("Admin Made {i}")),
        );
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "server admins are not limited"
        );
    }

    // 429 for logins from one address over the login rate.
    let statuses: Vec<StatusCode> = (0..5)
        .map(|_| {
            server
                .client()
                .post(server.url("/login"))
                .json(&serde_json::json!({ "email": "fast@example.org", "password": PASSWORD }))
                .send()
                .unwrap()
                .status()
        })
        .collect();
    assert!(statuses[..3].iter().all(|s| s.is_success()), "{statuses:?}");
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");

    // The refusals are counted.
    let metrics = server.get_authenticated("/metrics", "*/*").text().unwrap();
    assert!(
        sample(&metrics, "coopdir_http_shed_total") >= 1.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "coopdir_http_rate_limited_total") >= 2.0,
        "{metrics}"
    );
}

#[test]
fn sigterm_lets_requests_in_flight_finish_and_a_second_signal_exits_at_once() {
    // A load of readers, and a write in flight when the signal comes.
    let mut server = Server::start_with(&["--shutdown-timeout", "20s"]);
    let worker = seed(&server);
    let stop_load = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url(&worker);
            let stop = stop_load.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match client.get(&url).send() {
                        Ok(r) => statuses.push(r.status()),
                        // After the signal, new connections are refused: that is expected.
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                statuses
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let in_flight = slow_worker_post(&server, "In Flight");
    std::thread::sleep(Duration::from_millis(100));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.wait_for_exit(Duration::ZERO).is_none(),
        "the server waits for the request in flight"
    );
    assert_eq!(
        in_flight.finish(),
        201,
        "the request in flight was answered"
    );
    let status = server
        .wait_for_exit(Duration::from_secs(15))
        .expect("the server exits once nothing is in flight");
    assert_eq!(status.code(), Some(0), "a clean stop");
    stop_load.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses: Vec<StatusCode> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    assert!(statuses.len() > 20, "the load ran: {}", statuses.len());
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "every answered request succeeded: {:?}",
        statuses
            .iter()
            .filter(|s| **s != StatusCode::OK)
            .collect::<Vec<_>>()
    );
    // The write answered during shutdown is stored.
    server.start_again();
    assert_eq!(
        server
            .get("/workers/in-flight", "application/ld+json")
            .status(),
        StatusCode::OK
    );

    // A second signal exits at once, with its own code.
    let _stuck = slow_worker_post(&server, "Never Finished");
    std::thread::sleep(Duration::from_millis(100));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.wait_for_exit(Duration::ZERO).is_none());
    let signalled = Instant::now();
    server.signal("INT");
    let status = server
        .wait_for_exit(Duration::from_secs(5))
        .expect("the second signal stops the server");
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert_eq!(status.code(), Some(130));
}

#[test]
fn the_shutdown_deadline_cuts_off_what_is_still_running_with_its_own_exit_code() {
    let mut server = Server::start_with(&["--shutdown-timeout", "1s"]);
    seed(&server);
    let _stuck = slow_worker_post(&server, "Never Finished");
    std::thread::sleep(Duration::from_millis(100));
    server.signal("TERM");
    let status = server
        .wait_for_exit(Duration::from_secs(10))
        .expect("the server stops at its deadline");
    assert_eq!(status.code(), Some(3));
}
