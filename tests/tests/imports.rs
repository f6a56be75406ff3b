//! The CSV drop folder against the real rosterd: real files renamed or
//! copied into `incoming/`, reports read back from `processed/` and
//! `failed/`, mail received by a real SMTP server, and a kill -9 in the
//! middle of a 200,000-row import.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use roster_e2e::{Daemon, DaemonOptions, SmtpServer, poll};
use serde_json::Value;

/// One line of a report.
#[derive(Debug, Clone)]
struct ReportLine {
    line: u64,
    email: String,
    outcome: String,
    message: String,
}

fn incoming(d: &Daemon, sub: &str) -> PathBuf {
    let dir = d.data_dir().join("imports/incoming").join(sub);
    std::fs::create_dir_all(&dir).expect("incoming dir");
    dir
}

/// Writes `bytes` beside the target as a `.part` file, then renames it
/// into place, the way a careful uploader does.
fn drop_file(d: &Daemon, sub: &str, name: &str, bytes: &[u8]) {
    let dir = incoming(d, sub);
    let part = dir.join(format!(".{name}.part"));
    std::fs::write(&part, bytes).expect("write part");
    std::fs::rename(&part, dir.join(name)).expect("rename into place");
}

/// Waits until `file` has had `count` jobs in `workspace` and the newest
/// one has ended; returns it.
fn wait_job(d: &Daemon, workspace: &str, file: &str, count: usize) -> Value {
    poll(
        &format!("import job {count} of {file} to end"),
        Duration::from_secs(120),
        || {
            let jobs = d.roster_json(&["imports", "list", "--workspace", workspace]);
            let mine: Vec<&Value> = jobs
                .as_array()?
                .iter()
                .filter(|j| j["file_name"] == file)
                .collect();
            let job = mine.first().filter(|_| mine.len() >= count)?;
            matches!(job["status"].as_str(), Some("done" | "failed")).then(|| (*job).clone())
        },
    )
}

fn read_report(path: &Path) -> Vec<ReportLine> {
    let mut reader = csv::Reader::from_path(path).expect("report");
    let headers = reader.headers().expect("header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["line", "email", "outcome", "message"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("report row");
            ReportLine {
                line: r[0].parse().expect("line number"),
                email: r[1].to_string(),
                outcome: r[2].to_string(),
                message: r[3].to_string(),
            }
        })
        .collect()
}

fn report_of(job: &Value) -> Vec<ReportLine> {
    read_report(Path::new(job["report_path"].as_str().expect("report path")))
}

fn member(d: &Daemon, workspace: &str, email: &str) -> Value {
    d.roster_json(&["users", "show", email, "--workspace", workspace])
}

fn emails_in(d: &Daemon, workspace: &str) -> HashSet<String> {
    d.roster_json(&["users", "list", "--all", "--workspace", workspace])
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn tooljets_template_imports_as_it_is_and_a_second_drop_changes_nothing() {
    let mut smtp = SmtpServer::start();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    });
    d.roster_ok(&["groups", "create", "Engineering"]);
    d.roster_ok(&["groups", "create", "Ops"]);
    let file = "First Name,Last Name,Email,User Role,Group,Metadata\r\n\
        Ada,Lovelace,ada@example.com,Admin,Engineering|Ops,\"{\"\"team\"\":\"\"core\"\"}\"\r\n\
        Grace,Hopper,grace@example.com,Builder,Engineering,\r\n\
        Alan,Turing,alan@example.com,End User,,\r\n";
    drop_file(&d, "", "tooljet.csv", file.as_bytes());
    let job = wait_job(&d, "default", "tooljet.csv", 1);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["counts"]["invited"], 3, "{job}");
    let processed = d.data_dir().join("imports/processed");
    assert!(processed.join("tooljet.csv").exists());
    assert_eq!(
        job["report_path"].as_str(),
        Some(
            processed
                .join("tooljet.csv.report.csv")
                .to_str()
                .expect("utf-8")
        )
    );
    let report = report_of(&job);
    assert_eq!(
        report
            .iter()
            .map(|r| (r.line, r.email.as_str(), r.outcome.as_str()))
            .collect::<Vec<_>>(),
        [
            (2, "ada@example.com", "invited"),
            (3, "grace@example.com", "invited"),
            (4, "alan@example.com", "invited"),
        ]
    );
    let ada = member(&d, "default", "ada@example.com");
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["role"], "admin");
    assert_eq!(ada["groups"], serde_json::json!(["Engineering", "Ops"]));
    assert_eq!(ada["metadata"]["team"], "core");
    assert_eq!(
        member(&d, "default", "alan@example.com")["role"],
        "end-user"
    );
    for who in ["ada@example.com", "grace@example.com", "alan@example.com"] {
        let mail = smtp.wait_for(who, 1);
        assert!(
            mail[0].text.contains("/invite/"),
            "the invite mail carries the link"
        );
    }
    // The mailed link leads to the membership the import made: following
    // it the way a browser does makes Grace active.
    let link = smtp.wait_for("grace@example.com", 1)[0]
        .link()
        .expect("the mail carries a link");
    let accepted = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(d.accept_invite(&link));
    assert_eq!(accepted.0, 200, "{}", accepted.1);
    assert_eq!(d.status_of("grace@example.com"), "active");

    // The same file again: every row unchanged, a second report, no mail.
    drop_file(&d, "", "tooljet.csv", file.as_bytes());
    let again = wait_job(&d, "default", "tooljet.csv", 2);
    assert_ne!(again["id"], job["id"]);
    assert_eq!(again["counts"]["unchanged"], 3, "{again}");
    assert!(processed.join("tooljet-2.csv").exists());
    assert!(processed.join("tooljet-2.csv.report.csv").exists());
    assert!(
        processed.join("tooljet.csv.report.csv").exists(),
        "the first report is kept"
    );
    assert!(report_of(&again).iter().all(|r| r.outcome == "unchanged"));
    let mail = d.roster_json(&["mail", "list"]);
    assert_eq!(
        mail.as_array().map(Vec::len),
        Some(3),
        "no mail for unchanged rows"
    );
    // With the outbox drained, nothing more can be on its way.
    poll("the outbox to drain", Duration::from_secs(30), || {
        let mail = d.roster_json(&["mail", "list"]);
        mail.as_array()?
            .iter()
            .all(|m| m["status"] == "sent")
            .then_some(())
    });
    for who in ["ada@example.com", "grace@example.com", "alan@example.com"] {
        assert_eq!(smtp.messages_to(who).len(), 1, "{who} got one mail");
    }
    smtp.stop();
}

#[test]
fn mixed_rows_are_applied_or_reported_one_by_one() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["groups", "create", "Eng"]);
    d.invite("Existing Person", "existing@example.com", "end-user");
    d.roster_ok(&[
        "invite",
        "--name",
        "Same Person",
        "--email",
        "same@example.com",
        "--role",
        "builder",
        "--group",
        "Eng",
    ]);
    // A BOM, LF line ends, columns in our own order, quoted fields with an
    // embedded newline and a comma, unicode names.
    let file = "\u{feff}EMAIL,Role,name,groups,metadata,Department\n\
        new@example.com,builder,Zoë Ünicode,Eng,,HR\n\
        existing@example.com,admin,Existing Person,,,HR\n\
        same@example.com,builder,Same Person,Eng,,HR\n\
        not-an-email,builder,Bad Mail,,,HR\n\
        role@example.com,overlord,Bad Role,,,HR\n\
        group@example.com,builder,Bad Group,Nope,,HR\n\
        meta@example.com,builder,Bad Meta,,\"{\"\"a\"\": 1}\",HR\n\
        NEW@example.com,builder,Twice,,,HR\n\
        wide@example.com,builder,Too,Wide,,HR,extra\n\
        \"quoted@example.com\",\"end user\",\"Break, Jr\",,\"{\n\"\"team\"\":\"\"x\"\"}\",HR\n\
        after@example.com,builder,After Newline,,,HR\n";
    drop_file(&d, "", "mixed.csv", file.as_bytes());
    let job = wait_job(&d, "default", "mixed.csv", 1);
    assert_eq!(job["status"], "done", "{job}");
    let counts = &job["counts"];
    assert_eq!(
        (
            counts["rows"].as_u64(),
            counts["invited"].as_u64(),
            counts["updated"].as_u64(),
            counts["unchanged"].as_u64(),
            counts["errors"].as_u64()
        ),
        (Some(11), Some(3), Some(1), Some(1), Some(6)),
        "{job}"
    );
    assert!(
        job["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ignored columns: Department"),
        "{job}"
    );
    let report = report_of(&job);
    let by_line: HashMap<u64, &ReportLine> = report.iter().map(|r| (r.line, r)).collect();
    let expect = |line: u64, outcome: &str, message: &str| {
        let r = by_line
            .get(&line)
            .unwrap_or_else(|| panic!("no line {line}"));
        assert_eq!(r.outcome, outcome, "line {line}: {r:?}");
        assert!(r.message.contains(message), "line {line}: {r:?}");
    };
    expect(2, "invited", "");
    expect(3, "updated", "changed role");
    expect(4, "unchanged", "");
    expect(5, "error", "e-mail address \"not-an-email\" is not valid");
    expect(6, "error", "unknown role \"overlord\"");
    expect(7, "error", "group \"Nope\" does not exist");
    expect(8, "error", "metadata value of \"a\" is not a string");
    expect(
        9,
        "error",
        "duplicate e-mail: NEW@example.com is already on line 2",
    );
    expect(10, "error", "the row has 7 fields but the header has 6");
    expect(11, "invited", "");
    expect(13, "invited", "");
    assert_eq!(
        member(&d, "default", "new@example.com")["name"],
        "Zoë Ünicode"
    );
    assert_eq!(
        member(&d, "default", "existing@example.com")["role"],
        "admin"
    );
    let quoted = member(&d, "default", "quoted@example.com");
    assert_eq!(quoted["name"], "Break, Jr");
    assert_eq!(quoted["role"], "end-user");
    assert_eq!(quoted["metadata"]["team"], "x");
    let emails = emails_in(&d, "default");
    for absent in [
        "role@example.com",
        "group@example.com",
        "meta@example.com",
        "wide@example.com",
    ] {
        assert!(!emails.contains(absent), "{absent} must not be invited");
    }
    // The audit log names the file's source.
    let audit = d.roster_json(&["audit", "list"]);
    assert!(
        audit
            .as_array()
            .expect("audit")
            .iter()
            .any(|e| e["source"] == "csv" && e["target"] == "new@example.com"),
        "{audit}"
    );
}

#[test]
fn a_dry_run_reports_what_would_happen_and_changes_nothing() {
    let d = Daemon::start(DaemonOptions::default());
    let file = "name,email,role\nAda Lovelace,ada@example.com,admin\nBad,bad,admin\n";
    drop_file(&d, "", "team.dry-run.csv", file.as_bytes());
    let job = wait_job(&d, "default", "team.dry-run.csv", 1);
    assert_eq!(job["dry_run"], true);
    assert_eq!(job["counts"]["invited"], 1, "{job}");
    assert_eq!(job["counts"]["errors"], 1, "{job}");
    assert!(
        job["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("dry run, nothing applied"),
        "{job}"
    );
    let report = report_of(&job);
    assert_eq!(report[0].outcome, "invited");
    assert_eq!(report[0].message, "dry run: not applied");
    assert_eq!(report[1].outcome, "error");
    assert!(emails_in(&d, "default").is_empty(), "nothing was invited");
    assert_eq!(
        d.roster_json(&["mail", "list"]).as_array().map(Vec::len),
        Some(0)
    );
    // `roster import --dry-run` asks for the same through the admin API.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("upload.csv");
    std::fs::write(&path, file).expect("write");
    let out = d.roster(&["import", path.to_str().expect("utf-8"), "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "one row has an error: {stdout}");
    assert!(
        stdout.contains("dry run, nothing applied: 2 rows: 1 invited"),
        "{stdout}"
    );
    assert!(
        stdout.contains("e-mail address \"bad\" is not valid"),
        "{stdout}"
    );
    assert!(emails_in(&d, "default").is_empty(), "nothing was invited");
}

#[test]
fn roster_import_uploads_a_file_waits_and_prints_the_summary() {
    let d = Daemon::start(DaemonOptions::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new hires é.csv");
    std::fs::write(
        &path,
        "email,name,role\nada@example.com,Ada,admin\ngrace@example.com,Grace,builder\n",
    )
    .expect("write");
    let out = d.roster_ok(&["import", path.to_str().expect("utf-8")]);
    assert!(out.contains("new hires é.csv"), "{out}");
    assert!(
        out.contains("2 rows: 2 invited, 0 updated, 0 unchanged, 0 errors"),
        "{out}"
    );
    assert!(
        d.data_dir()
            .join("imports/processed/new hires é.csv")
            .exists()
    );
    let jobs = d.roster_json(&["imports", "list"]);
    let id = jobs[0]["id"].as_str().expect("job id").to_string();
    let shown = d.roster_json(&["imports", "show", &id]);
    assert_eq!(shown["job"]["counts"]["invited"], 2);
    assert_eq!(shown["rows"].as_array().map(Vec::len), Some(2));
    let table = d.roster_ok(&["imports", "list"]);
    assert!(
        table.contains("new hires é.csv") && table.contains("done"),
        "{table}"
    );
    let err = d.roster_err(&["import", "/nonexistent/file.csv"]);
    assert!(err.contains("cannot read /nonexistent/file.csv"), "{err}");
    // A file that cannot be imported: the reason and the report on stdout,
    // the reason as the error line, and no one-row table repeating it.
    let no_email = dir.path().join("no-email.csv");
    std::fs::write(&no_email, "Employee ID,Full Name\nE1,Ada\n").expect("write");
    let out = d.roster(&["import", no_email.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout.matches("the header has no e-mail column").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout.contains("imports/failed/no-email.csv.report.csv"),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("roster: the file was not imported: the header has no e-mail column"),
        "{stderr}"
    );
    // The list says why a job failed, not only that it did with 0 errors.
    let table = d.roster_ok(&["imports", "list"]);
    let failed_row = table
        .lines()
        .find(|l| l.contains("no-email.csv"))
        .unwrap_or_else(|| panic!("no row for no-email.csv in\n{table}"));
    assert!(
        failed_row.contains("failed") && failed_row.ends_with("the header has no e-mail column"),
        "{table}"
    );
    assert!(
        table.lines().next().is_some_and(|h| h.ends_with("REASON")),
        "{table}"
    );
    let err = d.roster_err(&[
        "import",
        path.to_str().expect("utf-8"),
        "--workspace",
        "nope",
    ]);
    assert!(err.contains("workspace \"nope\" does not exist"), "{err}");
}

#[test]
fn files_that_cannot_be_imported_end_in_failed_with_a_reason() {
    let d = Daemon::start(DaemonOptions::default());
    let mut junk = vec![0u8, 159, 146, 150, 0xff, b'\n'];
    junk.extend((0..4096u32).map(|i| (i * 7919 % 251) as u8));
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("", "empty.csv", Vec::new(), "the file is empty"),
        (
            "",
            "header-only.csv",
            b"name,email,role\r\n".to_vec(),
            "has a header but no rows",
        ),
        ("", "junk.csv", junk, "not valid UTF-8"),
        (
            "",
            "no-email.csv",
            b"name,role\nAda,admin\n".to_vec(),
            "no e-mail column",
        ),
        (
            "nope",
            "lost.csv",
            b"email\na@b.io\n".to_vec(),
            "incoming/nope/ names no workspace",
        ),
    ];
    for (sub, name, bytes, _) in &cases {
        drop_file(&d, sub, name, bytes);
    }
    for (sub, name, _, why) in &cases {
        let workspace = if sub.is_empty() { "default" } else { sub };
        let job = wait_job(&d, workspace, name, 1);
        assert_eq!(job["status"], "failed", "{name}: {job}");
        assert!(
            job["message"].as_str().unwrap_or_default().contains(why),
            "{name}: {job}"
        );
        let failed = d.data_dir().join("imports/failed");
        assert!(failed.join(name).exists(), "{name} is kept in failed/");
        let report = read_report(&failed.join(format!("{name}.report.csv")));
        assert_eq!(report.len(), 1, "{name}");
        assert_eq!(report[0].outcome, "error");
        assert!(report[0].message.contains(why), "{name}: {:?}", report[0]);
    }
    // Files that are not for the importer stay where they are.
    let inbox = incoming(&d, "");
    for ignored in ["notes.txt", ".hidden.csv", "upload.csv.part"] {
        std::fs::write(inbox.join(ignored), "email\na@b.io\n").expect("write");
    }
    // 10,000 columns and a 1 MB field: the file imports, the field's row fails.
    let mut wide = (0..10_000).map(|i| format!("c{i}")).collect::<Vec<_>>();
    wide[0] = "email".into();
    wide[1] = "name".into();
    wide[2] = "role".into();
    let mut row = vec![String::new(); 10_000];
    row[0] = "wide@example.com".into();
    row[1] = "Wide".into();
    row[2] = "admin".into();
    let mut big = vec![String::new(); 10_000];
    big[0] = "big@example.com".into();
    big[1] = "x".repeat(1 << 20);
    big[2] = "admin".into();
    let text = format!("{}\n{}\n{}\n", wide.join(","), row.join(","), big.join(","));
    drop_file(&d, "", "wide.csv", text.as_bytes());
    let job = wait_job(&d, "default", "wide.csv", 1);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["counts"]["invited"], 1, "{job}");
    assert!(
        job["message"]
            .as_str()
            .unwrap_or_default()
            .contains("and 9987 more"),
        "{job}"
    );
    let report = report_of(&job);
    assert_eq!(report[1].outcome, "error");
    assert!(
        report[1].message.contains("name is longer than"),
        "{:?}",
        report[1]
    );
    for ignored in ["notes.txt", ".hidden.csv", "upload.csv.part"] {
        assert!(inbox.join(ignored).exists(), "{ignored} was left alone");
    }
    assert_eq!(
        d.roster_json(&["imports", "list"]).as_array().map(Vec::len),
        Some(5)
    );
    assert!(d.roster_ok(&["users", "list"]).contains("wide@example.com"));
}

#[test]
fn a_workspace_subfolder_imports_into_that_workspace() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["workspaces", "create", "sales", "--name", "Sales"]);
    let folder = d.data_dir().join("imports/incoming/sales");
    poll(
        "the new workspace's folder",
        Duration::from_secs(10),
        || folder.is_dir().then_some(()),
    );
    // Copied (not renamed) in: picked up once its size stops changing.
    std::fs::write(
        folder.join("q3.csv"),
        "email,name,role\nsam@example.com,Sam,builder\n",
    )
    .expect("write");
    let job = wait_job(&d, "sales", "q3.csv", 1);
    assert_eq!(job["counts"]["invited"], 1, "{job}");
    assert!(emails_in(&d, "sales").contains("sam@example.com"));
    assert!(!emails_in(&d, "default").contains("sam@example.com"));
}

#[test]
fn a_relative_data_dir_still_imports_dropped_files() {
    let d = Daemon::start(DaemonOptions {
        relative_data_dir: true,
        ..DaemonOptions::default()
    });
    drop_file(
        &d,
        "",
        "rel.csv",
        b"email,name,role\nrel@example.com,Rel,builder\n",
    );
    let job = wait_job(&d, "default", "rel.csv", 1);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["counts"]["invited"], 1, "{job}");
    assert!(
        d.data_dir()
            .join("imports/processed/rel.csv.report.csv")
            .is_file()
    );
}

#[test]
fn a_spreadsheet_dropped_as_xlsx_is_named_in_the_log_once_and_left_alone() {
    let d = Daemon::start(DaemonOptions::default());
    drop_file(&d, "", "hires.xlsx", b"PK\x03\x04 not a csv");
    // Written again, as a spreadsheet saves: the watcher hears of it again.
    std::fs::write(
        incoming(&d, "").join("hires.xlsx"),
        b"PK\x03\x04 saved again",
    )
    .expect("save again");
    std::fs::write(incoming(&d, "").join("~$hires.xlsx"), b"lock").expect("lock file");
    // A CSV dropped after it: once its job has ended, the watcher has looked
    // at the folder many times.
    drop_file(&d, "", "after.csv", b"email\nafter@example.com\n");
    wait_job(&d, "default", "after.csv", 1);
    let log = d.log();
    assert_eq!(
        log.matches("not imported: only .csv files are").count(),
        1,
        "named once, and the office lock file not at all: {log}"
    );
    assert!(log.contains("hires.xlsx"), "{log}");
    assert!(
        incoming(&d, "").join("hires.xlsx").is_file(),
        "the file stays where it is"
    );
    assert!(
        d.roster_json(&["imports", "list"])
            .as_array()
            .is_some_and(|jobs| jobs.iter().all(|j| j["file_name"] != "hires.xlsx")),
        "no job for it"
    );
}

#[test]
fn semicolon_and_tab_separated_files_from_spreadsheets_import() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["groups", "create", "Vertrieb"]);
    d.roster_ok(&["groups", "create", "Einkauf"]);
    // Excel with German settings: BOM, CRLF, `;` between columns, a `,`
    // inside a name, ToolJet's `|` between groups.
    let german = "\u{feff}First Name;Last Name;Email;User Role;Group\r\n\
                  J\u{fc}rgen;M\u{fc}ller, Dr.;juergen@example.de;Builder;Vertrieb|Einkauf\r\n\
                  Anna;Schmidt;anna@example.de;End User;\r\n";
    drop_file(&d, "", "mitarbeiter.csv", german.as_bytes());
    let job = wait_job(&d, "default", "mitarbeiter.csv", 1);
    assert_eq!(job["counts"]["invited"], 2, "{job}");
    let j = member(&d, "default", "juergen@example.de");
    assert_eq!(j["name"], "J\u{fc}rgen M\u{fc}ller, Dr.", "{j}");
    assert_eq!(j["role"], "builder", "{j}");
    assert_eq!(j["groups"].as_array().map(Vec::len), Some(2), "{j}");

    drop_file(
        &d,
        "",
        "export.csv",
        b"name\temail\trole\nTab Person\ttab@example.com\tadmin\n",
    );
    let job = wait_job(&d, "default", "export.csv", 1);
    assert_eq!(job["counts"]["invited"], 1, "{job}");
    assert_eq!(member(&d, "default", "tab@example.com")["role"], "admin");
}

#[test]
fn all_or_nothing_applies_nothing_when_any_row_fails() {
    let d = Daemon::start(DaemonOptions {
        env: vec![("ROSTER_IMPORTS_MODE".into(), "all-or-nothing".into())],
        ..Default::default()
    });
    let bad = "email,name,role\nada@example.com,Ada,admin\nbob@example.com,Bob,chief\n";
    drop_file(&d, "", "bad.csv", bad.as_bytes());
    let job = wait_job(&d, "default", "bad.csv", 1);
    assert_eq!(job["mode"], "all-or-nothing");
    assert_eq!(job["counts"]["skipped"], 1, "{job}");
    assert_eq!(job["counts"]["errors"], 1, "{job}");
    assert!(
        job["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("nothing applied (all-or-nothing)"),
        "{job}"
    );
    let report = report_of(&job);
    assert_eq!(report[0].outcome, "skipped");
    assert!(
        report[0].message.contains("all-or-nothing"),
        "{:?}",
        report[0]
    );
    assert_eq!(report[1].outcome, "error");
    assert!(emails_in(&d, "default").is_empty(), "nothing was applied");
    let good = "email,name,role\nada@example.com,Ada,admin\nbob@example.com,Bob,builder\n";
    drop_file(&d, "", "good.csv", good.as_bytes());
    let job = wait_job(&d, "default", "good.csv", 1);
    assert_eq!(job["counts"]["invited"], 2, "{job}");
    assert!(report_of(&job).iter().all(|r| r.outcome == "invited"));
    assert_eq!(emails_in(&d, "default").len(), 2);
}

/// Every outbox message of the default workspace, paged through the API.
async fn all_mail(d: &Daemon) -> Vec<Value> {
    let client = d.socket_client();
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = "http://rosterd/api/v1/mail?limit=500".to_string();
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", urlencoding::encode(c)));
        }
        let page: Value = client
            .get(url)
            .send()
            .await
            .expect("mail page")
            .json()
            .await
            .expect("json");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_200k_row_import_applies_every_row_exactly_once() {
    const ROWS: usize = 200_000;
    // Windows of 50,000 rows applied in e-mail order: the kill comes in the
    // second or a later one, after whole windows and part of one. Batches
    // of 1,000 rows: search words are held for 64,000 rows, then written
    // in slices over the next 16 batches, so the kill finds some rows'
    // words held and maybe a write half done.
    let mut d = Daemon::start(DaemonOptions {
        env: vec![
            ("ROSTER_IMPORTS_SORT_WINDOW_ROWS".into(), "50000".into()),
            ("ROSTER_IMPORTS_BATCH_ROWS".into(), "1000".into()),
        ],
        ..Default::default()
    });
    let mut text = String::with_capacity(ROWS * 48);
    text.push_str("name,email,role\n");
    for i in 0..ROWS {
        // 7919 is prime to 200,000: every address once, in no order.
        let who = i * 7919 % ROWS;
        text.push_str(&format!("Person {who},p{who}@bulk.example.com,end-user\n"));
    }
    drop_file(&d, "", "bulk.csv", text.as_bytes());
    let progress = |d: &Daemon| -> Option<u64> {
        let jobs = d.roster_json(&["imports", "list"]);
        jobs.get(0)?["counts"]["rows"].as_u64()
    };
    let at_kill = poll("a third of the rows", Duration::from_secs(300), || {
        progress(&d).filter(|rows| *rows >= (ROWS / 3) as u64)
    });
    // The first window (lines 2 to 50,001) is applied, in e-mail order: a
    // running job's report still lists its rows by line.
    let jobs = d.roster_json(&["imports", "list"]);
    let id = jobs[0]["id"].as_str().expect("job id").to_string();
    let first = d.roster_json(&[
        "imports",
        "show",
        &id,
        "--outcome",
        "invited",
        "--limit",
        "5",
    ]);
    let lines: Vec<u64> = first["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5, 6], "{first}");
    d.kill9();
    d.restart();
    let job = tokio::task::block_in_place(|| wait_job(&d, "default", "bulk.csv", 1));
    assert!(
        at_kill < ROWS as u64,
        "killed before the end ({at_kill} rows)"
    );
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["counts"]["rows"], ROWS, "{job}");
    assert_eq!(
        job["counts"]["invited"], ROWS,
        "every row invited once: {job}"
    );
    let report = report_of(&job);
    assert_eq!(report.len(), ROWS, "one report line per row");
    let lines: Vec<u64> = report.iter().map(|r| r.line).collect();
    assert_eq!(
        lines,
        (2..ROWS as u64 + 2).collect::<Vec<_>>(),
        "every line reported once, in file order"
    );
    assert!(report.iter().all(|r| r.outcome == "invited"));
    let workspaces = d.roster_json(&["workspaces", "list"]);
    assert_eq!(workspaces[0]["members"], ROWS, "{workspaces}");
    let mail = all_mail(&d).await;
    let recipients: HashSet<&str> = mail.iter().filter_map(|m| m["to"].as_str()).collect();
    assert_eq!(mail.len(), ROWS, "one invite mail per row");
    assert_eq!(recipients.len(), ROWS, "no address has two mails");
    assert!(!d.data_dir().join("imports/incoming/bulk.csv").exists());
    assert!(d.data_dir().join("imports/processed/bulk.csv").exists());
    // Search words are written tens of thousands of rows at a time, so the
    // kill caught some rows applied with their words still held back (or
    // taken out and partly written): the restart found them again. A word that is not the start of the name or
    // e-mail (the number) finds every member, from every part of the file.
    let api = d.socket_client();
    for who in (0..ROWS).step_by(997).chain([ROWS - 1]) {
        let page: Value = api
            .get(format!("http://rosterd/api/v1/members?q={who}&limit=50"))
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        let found: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|m| m["email"].as_str())
            .collect();
        let email = format!("p{who}@bulk.example.com");
        assert!(
            found.contains(&email.as_str()),
            "{email} found by the word {who}: {found:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_waiting_at_start_are_imported_and_jobs_reach_the_event_stream() {
    let mut d = Daemon::start(DaemonOptions::default());
    d.kill9();
    // Dropped while no daemon runs: found by the start-up scan.
    let inbox = d.data_dir().join("imports/incoming");
    std::fs::write(
        inbox.join("waiting.csv"),
        "email,name,role\nw@example.com,W,builder\n",
    )
    .expect("write");
    d.restart();
    let job = tokio::task::block_in_place(|| wait_job(&d, "default", "waiting.csv", 1));
    assert_eq!(job["counts"]["invited"], 1, "{job}");

    let mut events = d.events("").await;
    drop_file(
        &d,
        "",
        "live.csv",
        b"email,name,role\nl@example.com,L,builder\n",
    );
    events
        .until("import.finished", Duration::from_secs(20))
        .await;
    let got = events.seen;
    for kind in [
        "import.queued",
        "import.started",
        "import.progress",
        "import.finished",
    ] {
        assert!(
            got.contains(&format!(r#""kind":"{kind}""#)),
            "{kind} missing: {got}"
        );
    }
}

#[test]
fn a_file_rewritten_or_deleted_while_it_is_read_says_so() {
    const ROWS: usize = 30_000;
    let d = Daemon::start(DaemonOptions::default());
    let mut text = String::from("name,email,role\n");
    for i in 0..ROWS {
        text.push_str(&format!("Person {i},p{i}@slow.example.com,end-user\n"));
    }
    for (name, rewrite) in [("growing.csv", true), ("deleted.csv", false)] {
        drop_file(&d, "", name, text.as_bytes());
        let id = poll(&format!("{name} to start"), Duration::from_secs(60), || {
            let jobs = d.roster_json(&["imports", "list"]);
            let job = jobs
                .as_array()?
                .iter()
                .find(|j| j["file_name"] == name)?
                .clone();
            (job["counts"]["rows"].as_u64()? > 0).then(|| job["id"].as_str().map(str::to_string))?
        });
        let claimed = d.data_dir().join(format!("imports/processing/{id}.csv"));
        if rewrite {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&claimed)
                .expect("the claimed file");
            writeln!(f, "Late Comer,late@slow.example.com,builder").expect("append");
        } else {
            std::fs::remove_file(&claimed).expect("delete the claimed file");
        }
        let job = wait_job(&d, "default", name, 1);
        let message = job["message"].as_str().unwrap_or_default().to_string();
        let want = if rewrite {
            "the file changed while it was read"
        } else {
            "removed from processing/ while it was read"
        };
        assert!(message.contains(want), "{name}: {message}");
        let report = report_of(&job);
        assert!(
            report
                .iter()
                .any(|r| r.outcome == "error" && r.message.contains(want)),
            "{name}: the report says it too"
        );
        assert!(
            report
                .iter()
                .filter(|r| r.outcome == "invited" || r.outcome == "unchanged")
                .count()
                >= ROWS,
            "{name}: the rows read were applied"
        );
    }
    assert!(
        d.roster_ok(&["users", "list", "--limit", "1"])
            .contains("@slow.example.com")
    );
}
