//! The access policy over real HTTP: every endpoint that reads or writes
//! layers, datasets or jobs, asked by every kind of caller (planner, viewer,
//! no token, a wrong token, Basic with the token as the password, a token
//! scoped to one dataset, a token scoped to another), for a layer of every
//! class (personal, sensitive, public, and one nobody has classed). Statuses
//! must match the policy, listings and job documents must name nothing the
//! caller may not read, and refusals must not tell whether the thing exists.
//!
//! The data is the demo district (data/demo: 琅琊区 with its real community
//! codes) run through the real engines: partition, a census update, coverage
//! and proposals, so every layer kind the service writes is present.

#[path = "service/common.rs"]
mod common;
#[path = "service_access/fixture.rs"]
mod fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{json, Value};

use common::Resp;
use fixture::*;

/// Every way of reading one layer.
fn read_paths(dataset: &str, layer: &str, fid: &str) -> [String; 5] {
    [
        format!("/collections/{dataset}.{layer}"),
        format!("/collections/{dataset}.{layer}/items?limit=5"),
        format!("/collections/{dataset}.{layer}/items/{fid}"),
        format!("/api/v1/datasets/{dataset}/layers/{layer}"),
        format!("/api/v1/datasets/{dataset}/layers/{layer}/report"),
    ]
}

/// What must be equal between two callers allowed to read: the features (an
/// items page also carries a time stamp), else the whole body.
fn content(path: &str, r: &Resp) -> Value {
    if path.contains("/items?") {
        let v = r.json();
        json!([v["numberMatched"], v["features"]])
    } else {
        Value::String(String::from_utf8_lossy(&r.body).into_owned())
    }
}

#[test]
fn every_layer_class_read_by_every_caller() {
    let f = fixture();
    let langya = &f.layers[LANGYA];
    for name in PERSONAL
        .iter()
        .chain(&SENSITIVE)
        .chain(&PUBLIC)
        .chain([&UNCLASSED])
    {
        assert!(
            langya.contains_key(*name),
            "langya has no {name} layer: {langya:?}"
        );
    }
    let mut checked = BTreeMap::<u16, usize>::new();
    for (dataset, layers) in &f.layers {
        for (layer, count) in layers {
            let fid = &f.first_ids[&(dataset.clone(), layer.clone())];
            let planner: Vec<Resp> = read_paths(dataset, layer, fid)
                .iter()
                .map(|p| get(p, Cred::Planner))
                .collect();
            for cred in ALL_CREDS {
                let want = cred.read_status(dataset, layer);
                // A dataset that does not exist, seen by the scope as this one
                // is (within a one-dataset scope: the same dataset), and a
                // feature that does not exist.
                let ghost = if cred.sees("nowhere") == cred.sees(dataset) {
                    "nowhere"
                } else {
                    dataset.as_str()
                };
                let ghosts = read_paths(ghost, layer, "no-such-feature");
                for (i, path) in read_paths(dataset, layer, fid).iter().enumerate() {
                    let what = format!("{cred:?} GET {path}");
                    let r = get(path, cred);
                    let detail = expect(&r, want, &what);
                    *checked.entry(want).or_default() += 1;
                    if want == 200 {
                        assert_eq!(content(path, &r), content(path, &planner[i]), "{what}");
                        if i == 1 {
                            assert_eq!(r.json()["numberMatched"].as_u64(), Some(*count), "{what}");
                        }
                    }
                    if want == 403 {
                        // Decided before any lookup: the same answer for a
                        // dataset and feature that do not exist.
                        let ghost = get(&ghosts[i], cred);
                        assert_eq!(expect(&ghost, 403, &ghosts[i]), detail, "{what}");
                        assert!(!detail.contains(fid.as_str()), "{what}: {detail}");
                    }
                }
            }
        }
    }
    // Every outcome occurred, many times.
    for status in [200, 401, 403] {
        assert!(
            checked.get(&status).copied().unwrap_or(0) > 50,
            "{checked:?}"
        );
    }
}

/// The (dataset, layer) pairs of the two fixture datasets a listing names.
fn listed(
    v: &Value,
    list: &str,
    item: impl Fn(&Value) -> Vec<(String, String)>,
) -> BTreeSet<(String, String)> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(item)
        .filter(|(d, _)| d == LANGYA || d == NANQIAO)
        .collect()
}

/// Fails when a body names a layer of the given names (as a collection id, a
/// layer member or a path).
fn assert_names_none(text: &str, names: &[&str], what: &str) {
    for name in names {
        for pattern in [
            format!(".{name}\""),
            format!("\"layer\":\"{name}\""),
            format!("/{name}\""),
            format!("/{name}/"),
        ] {
            assert!(!text.contains(&pattern), "{what} names {name}: {pattern}");
        }
    }
}

fn private_names() -> Vec<&'static str> {
    PERSONAL
        .iter()
        .chain(&SENSITIVE)
        .copied()
        .chain([UNCLASSED])
        .collect()
}

#[test]
fn listings_name_only_what_the_caller_may_read() {
    let f = fixture();
    let all: BTreeSet<(String, String)> = f
        .layers
        .iter()
        .flat_map(|(d, ls)| ls.keys().map(move |l| (d.clone(), l.clone())))
        .collect();
    let split = |id: &str| {
        let (d, l) = id.split_once('.').unwrap();
        (d.to_string(), l.to_string())
    };
    for cred in ALL_CREDS {
        let cols = get("/collections", cred);
        let datasets = get("/api/v1/datasets", cred);
        if !cred.authenticated() {
            expect(&cols, 401, "collections");
            expect(&datasets, 401, "datasets");
            continue;
        }
        let want: BTreeSet<_> = all
            .iter()
            .filter(|(d, l)| cred.may_read(d, l))
            .cloned()
            .collect();
        assert!(!want.is_empty(), "{cred:?}");
        expect(&cols, 200, "collections");
        let v = cols.json();
        let got = listed(&v, "collections", |c| {
            vec![split(c["id"].as_str().unwrap())]
        });
        assert_eq!(got, want, "{cred:?} /collections");
        for c in v["collections"].as_array().unwrap() {
            let (d, _) = split(c["id"].as_str().unwrap());
            assert!(cred.sees(&d), "{cred:?} is shown {d}");
        }
        expect(&datasets, 200, "datasets");
        let v = datasets.json();
        let layers_of = |d: &Value| -> Vec<(String, String)> {
            let name = d["name"].as_str().unwrap().to_string();
            d["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (name.clone(), l["layer"].as_str().unwrap().to_string()))
                .collect()
        };
        assert_eq!(
            listed(&v, "datasets", layers_of),
            want,
            "{cred:?} /api/v1/datasets"
        );
        for d in v["datasets"].as_array().unwrap() {
            assert!(cred.sees(d["name"].as_str().unwrap()), "{cred:?}: {d}");
        }
        let mut bodies = vec![cols.body.clone(), datasets.body.clone()];
        for dataset in [LANGYA, NANQIAO] {
            let path = format!("/api/v1/datasets/{dataset}");
            let r = get(&path, cred);
            if cred.sees(dataset) {
                expect(&r, 200, &path);
                let got: BTreeSet<_> = layers_of(&r.json()).into_iter().collect();
                let mine: BTreeSet<_> =
                    want.iter().filter(|(d, _)| d == dataset).cloned().collect();
                assert_eq!(got, mine, "{cred:?} {path}");
                bodies.push(r.body);
            } else {
                let detail = expect(&r, 403, &path);
                assert_eq!(
                    expect(&get("/api/v1/datasets/nowhere", cred), 403, "nowhere"),
                    detail
                );
            }
        }
        if !cred.planner() {
            for b in &bodies {
                assert_names_none(
                    &String::from_utf8_lossy(b),
                    &private_names(),
                    &format!("{cred:?}"),
                );
            }
        }
    }
    // The checks above can fail: a planner's listings do name them.
    let text = String::from_utf8_lossy(&get("/collections", Cred::Planner).body).into_owned();
    assert!(
        text.contains(&format!("{LANGYA}.{UNCLASSED}\""))
            && text.contains(".coverage_households\"")
    );
}

/// Result layer names of a job document.
fn results(doc: &Value) -> BTreeSet<String> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["layer"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn job_documents_name_only_readable_results() {
    let f = fixture();
    let planner_docs: BTreeMap<String, Value> = f
        .jobs
        .keys()
        .map(|id| {
            (
                id.clone(),
                get(&format!("/api/v1/jobs/{id}"), Cred::Planner).json(),
            )
        })
        .collect();
    let coverage = planner_docs
        .values()
        .find(|d| d["kind"] == "coverage")
        .unwrap();
    assert!(
        results(coverage).contains("coverage_households")
            && results(coverage).contains("coverage_cameras")
    );
    for cred in ALL_CREDS {
        let list = get("/api/v1/jobs", cred);
        if !cred.authenticated() {
            expect(&list, 401, "jobs");
            expect(
                &get(
                    &format!("/api/v1/jobs/{}", f.jobs.keys().next().unwrap()),
                    cred,
                ),
                401,
                "job",
            );
            continue;
        }
        expect(&list, 200, "jobs");
        let docs = list.json()["jobs"].as_array().unwrap().clone();
        let listed: BTreeSet<String> = docs
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .filter(|id| f.jobs.contains_key(id))
            .collect();
        let want: BTreeSet<String> = f
            .jobs
            .iter()
            .filter(|(_, d)| cred.sees(d))
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(listed, want, "{cred:?} /api/v1/jobs");
        for d in &docs {
            let dataset = d["dataset"].as_str().unwrap();
            assert!(cred.sees(dataset), "{cred:?}: {d}");
            for l in results(d) {
                assert!(cred.may_read(dataset, &l), "{cred:?} is told of {l}");
            }
        }
        let mut texts = vec![String::from_utf8_lossy(&list.body).into_owned()];
        for (id, dataset) in &f.jobs {
            let path = format!("/api/v1/jobs/{id}");
            let r = get(&path, cred);
            if cred.sees(dataset) {
                expect(&r, 200, &path);
                let doc = r.json();
                let readable: BTreeSet<String> = results(&planner_docs[id])
                    .into_iter()
                    .filter(|l| cred.may_read(dataset, l))
                    .collect();
                assert_eq!(results(&doc), readable, "{cred:?} {path}");
                assert_eq!(
                    doc["summary"], planner_docs[id]["summary"],
                    "{cred:?} {path}"
                );
                texts.push(String::from_utf8_lossy(&r.body).into_owned());
            } else {
                // Another dataset's job is answered as an unknown id.
                let detail = expect(&r, 404, &path);
                let ghost = "0".repeat(id.len());
                let unknown = expect(&get(&format!("/api/v1/jobs/{ghost}"), cred), 404, "ghost");
                assert_eq!(
                    detail.replace(id.as_str(), "ID"),
                    unknown.replace(&ghost, "ID")
                );
            }
            let by_dataset = get(&format!("/api/v1/jobs?dataset={dataset}"), cred);
            expect(
                &by_dataset,
                if cred.sees(dataset) { 200 } else { 403 },
                "jobs?dataset",
            );
        }
        if !cred.planner() {
            for t in &texts {
                assert_names_none(t, &private_names(), &format!("{cred:?} jobs"));
            }
        }
    }
}

#[test]
fn writes_need_a_planner_within_the_token_scope() {
    let f = fixture();
    let coverage_job = f.jobs.iter().find(|(id, d)| {
        *d == LANGYA
            && get(&format!("/api/v1/jobs/{id}"), Cred::Planner).json()["kind"] == "coverage"
    });
    let (job, _) = coverage_job.unwrap();
    let uploads = [
        ("areas", demo("areas")),
        ("households", common::households(20).into_bytes()),
        ("cameras", common::cameras().into_bytes()),
    ];
    for cred in ALL_CREDS {
        // Refused writes are tried on langya; allowed ones on a scratch
        // dataset of the caller's own, so langya stays as the fixture made it.
        let refusal = cred.write_refusal(LANGYA);
        let target = match (refusal, cred) {
            (Some(_), _) => LANGYA.to_string(),
            (None, Cred::NanqiaoPlanner) => "nanqiao-tmp".to_string(),
            (None, other) => format!("scratch-{other:?}").to_lowercase(),
        };
        let layers = format!("/api/v1/datasets/{target}/layers");
        let what = |s: &str| format!("{cred:?} {s} on {target}");
        for (layer, body) in &uploads {
            let r = send("PUT", &format!("{layers}/{layer}"), cred, Some(body));
            expect(&r, refusal.unwrap_or(201), &what(&format!("PUT {layer}")));
        }
        let r = send("DELETE", &format!("{layers}/households"), cred, None);
        expect(&r, refusal.unwrap_or(204), &what("DELETE households"));
        for (kind, body) in [
            ("partition", &b""[..]),
            ("coverage", b"{}"),
            ("propose", br#"{"count": 1}"#),
        ] {
            let r = send(
                "POST",
                &format!("/api/v1/datasets/{target}/{kind}"),
                cred,
                Some(body),
            );
            // Allowed callers get as far as the missing households layer.
            expect(&r, refusal.unwrap_or(409), &what(kind));
        }
        let r = send("DELETE", &format!("/api/v1/datasets/{target}"), cred, None);
        expect(&r, refusal.unwrap_or(204), &what("DELETE dataset"));
        // A scoped planner is refused a dataset outside its scope, existing or not.
        if cred == Cred::NanqiaoPlanner {
            for ds in [LANGYA, "nowhere"] {
                let r = send(
                    "PUT",
                    &format!("/api/v1/datasets/{ds}/layers/areas"),
                    cred,
                    Some(&uploads[0].1),
                );
                expect(&r, 403, &format!("scoped PUT on {ds}"));
            }
        }
        // Cancelling langya's finished coverage job.
        let cancel_status = if !cred.authenticated() {
            401
        } else if !cred.planner() {
            403
        } else if !cred.sees(LANGYA) {
            404
        } else {
            409
        };
        for (method, path) in [
            ("DELETE", format!("/api/v1/jobs/{job}")),
            ("POST", format!("/api/v1/jobs/{job}/cancel")),
        ] {
            expect(
                &send(method, &path, cred, None),
                cancel_status,
                &format!("{cred:?} {method} {path}"),
            );
        }
    }
    // Langya is as the fixture left it.
    for (layer, count) in &f.layers[LANGYA] {
        let page = get(
            &format!("/collections/{LANGYA}.{layer}/items?limit=1"),
            Cred::Planner,
        )
        .json();
        assert_eq!(page["numberMatched"].as_u64(), Some(*count), "{layer}");
        let fid = &page["features"][0]["id"];
        let fid = fid
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| fid.to_string());
        assert_eq!(
            fid,
            f.first_ids[&(LANGYA.to_string(), layer.clone())],
            "{layer}"
        );
    }
    let doc = get(&format!("/api/v1/jobs/{job}"), Cred::Planner).json();
    assert_eq!(doc["state"], "succeeded");
}

#[test]
fn health_needs_no_token_and_a_bad_header_is_a_401() {
    assert_eq!(get("/health", Cred::Anonymous).status, 200);
    for bad in [
        "Basic !!!",
        "Basic dG9rZW4=",
        "Token planner-7Hq2",
        "Bearer",
        "Basic",
    ] {
        let addr = &server().0;
        let mut s = TcpStream::connect(addr).unwrap();
        let req = format!("GET /collections HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: {bad}\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        assert!(raw.starts_with("HTTP/1.1 401"), "{bad}: {raw}");
        let challenge = raw
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))
            .unwrap_or_default();
        assert!(
            challenge.contains("Basic realm=") && challenge.contains("Bearer realm="),
            "{bad}: {challenge}"
        );
    }
}
