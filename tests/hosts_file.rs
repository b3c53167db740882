//! `kindling hosts apply | remove | show` on real files, with the real binary:
//! byte-exact preservation, repair, warnings, failures that leave the file as it
//! was, a real bind mount (rename fails with EBUSY), a real unprivileged user,
//! and 20 concurrent runs.

mod support;

use kindling::hosts::block;
use kindling::hosts::file::{self, Written};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::Run;

const NAMES: [&str; 8] = [
    "demo",
    "staging-demo",
    "prod-demo",
    "prod-demo-preview",
    "argocd",
    "grafana",
    "prometheus",
    "rollouts",
];

fn kindling(dir: &Path, cluster: &str, args: &[&str]) -> Command {
    let mut c = Command::new(support::kindling_bin());
    c.current_dir(dir)
        .env("KINDLING_DATA_DIR", dir.join("data"))
        .env_remove("KINDLING_HOSTS_FILE")
        .args(["--set", &format!("cluster.name={cluster}")])
        .args(args);
    c
}

fn hosts(dir: &Path, cluster: &str, action: &str, file: &Path) -> Run {
    kindling(
        dir,
        cluster,
        &["hosts", action, "--file", file.to_str().unwrap()],
    )
    .output()
    .unwrap()
    .into()
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

fn assert_one_full_block(text: &str, cluster: &str) {
    assert_eq!(
        count(text, &format!("# BEGIN kindling {cluster}")),
        1,
        "{text:?}"
    );
    assert_eq!(
        count(text, &format!("# END kindling {cluster}")),
        1,
        "{text:?}"
    );
    for name in NAMES {
        assert_eq!(
            count(text, &format!("127.0.0.1\t{name}.localhost")),
            1,
            "{name}: {text:?}"
        );
    }
}

#[test]
fn apply_and_remove_keep_every_byte_outside_the_block() {
    let originals: [(&str, &[u8]); 5] = [
        ("trailing newline", b"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"),
        ("no trailing newline", b"127.0.0.1 localhost\n10.0.0.5 nas"),
        ("crlf", b"127.0.0.1 localhost\r\n# comment\r\n10.0.0.5\tnas\r\n"),
        ("comments and tabs", b"# The following lines are desirable\n\n\t192.168.1.1\trouter  # tab\t\n#\t10.9.9.9 old\n\n\n"),
        ("empty", b""),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, original) in originals {
        let file = dir.path().join(format!("hosts-{}", what.replace(' ', "-")));
        std::fs::write(&file, original).unwrap();
        let r = hosts(dir.path(), "kc", "apply", &file);
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        let applied = std::fs::read(&file).unwrap();
        let text = String::from_utf8(applied.clone()).unwrap();
        assert_one_full_block(&text, "kc");
        let body = String::from_utf8_lossy(original);
        let body = body.trim_end_matches(['\r', '\n']);
        assert!(
            text.starts_with(body),
            "{what}: original content moved: {text:?}"
        );
        if body.contains("\r\n") {
            assert_eq!(
                count(&text, "\n"),
                count(&text, "\r\n"),
                "{what}: mixed endings {text:?}"
            );
        }
        // Idempotent: the second run changes nothing, not even the inode.
        let inode = std::fs::metadata(&file).unwrap().ino();
        let r = hosts(dir.path(), "kc", "apply", &file);
        assert_eq!(r.code, Some(0));
        assert!(r.stdout.contains("up to date"), "{what}: {}", r.stdout);
        assert_eq!(std::fs::read(&file).unwrap(), applied);
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
        // show prints the block.
        let shown: Run = kindling(
            dir.path(),
            "kc",
            &["hosts", "show", "--file", file.to_str().unwrap()],
        )
        .output()
        .unwrap()
        .into();
        assert!(
            shown.stdout.starts_with("# BEGIN kindling kc"),
            "{}",
            shown.stdout
        );
        // remove gives back the original exactly.
        let r = hosts(dir.path(), "kc", "remove", &file);
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            original,
            "{what}: not restored"
        );
        let r = hosts(dir.path(), "kc", "remove", &file);
        assert!(r.stdout.contains("up to date"), "{what}: {}", r.stdout);
    }
}

#[test]
fn mode_and_owner_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    std::fs::write(&file, "127.0.0.1 localhost\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let r = hosts(dir.path(), "kc", "apply", &file);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_one_full_block(&std::fs::read_to_string(&file).unwrap(), "kc");
}

#[test]
fn damaged_and_duplicated_blocks_are_repaired_to_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    // BEGIN without END, then a user's line that must survive.
    std::fs::write(
        &file,
        "127.0.0.1 localhost\n# BEGIN kindling kc\n127.0.0.1\tdemo.localhost\n10.0.0.5 nas\n",
    )
    .unwrap();
    assert_eq!(hosts(dir.path(), "kc", "apply", &file).code, Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_one_full_block(&text, "kc");
    assert!(
        text.starts_with("127.0.0.1 localhost\n# BEGIN kindling kc\n"),
        "{text}"
    );
    assert!(text.contains("\n10.0.0.5 nas\n"), "user line lost: {text}");
    assert_eq!(hosts(dir.path(), "kc", "remove", &file).code, Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "127.0.0.1 localhost\n10.0.0.5 nas\n"
    );

    // Two blocks (and a stray END): one remains, where the first was.
    let one = block::render("kc", &["demo.localhost".into()], "\n");
    std::fs::write(&file, format!("a\n{one}\nb\n{one}\nc\n# END kindling kc\n")).unwrap();
    assert_eq!(hosts(dir.path(), "kc", "apply", &file).code, Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_one_full_block(&text, "kc");
    assert!(
        text.starts_with("a\n# BEGIN kindling kc\n") && text.ends_with("\nb\nc\n"),
        "{text}"
    );
    // Another cluster's block is not ours to touch.
    let other = block::render("other", &["demo.localhost".into()], "\n");
    std::fs::write(&file, format!("{other}\n")).unwrap();
    assert_eq!(hosts(dir.path(), "kc", "apply", &file).code, Some(0));
    assert_eq!(hosts(dir.path(), "kc", "remove", &file).code, Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{other}\n")
    );
}

#[test]
fn a_foreign_mapping_of_our_names_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    std::fs::write(
        &file,
        "127.0.0.1 localhost\n10.1.2.3\tgrafana.localhost # old box\n",
    )
    .unwrap();
    let r = hosts(dir.path(), "kc", "apply", &file);
    assert_eq!(r.code, Some(0));
    assert!(
        r.stderr.contains("grafana.localhost") && r.stderr.contains("10.1.2.3"),
        "{}",
        r.stderr
    );
    // The foreign line is kept: it is the user's.
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("10.1.2.3\tgrafana.localhost # old box\n")
    );
    let clean = dir.path().join("clean");
    std::fs::write(&clean, "127.0.0.1 localhost\n").unwrap();
    let r = hosts(dir.path(), "kc", "apply", &clean);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

/// The default `localhost` domain still gets its block: Safari and macOS command-line tools
/// resolve `*.localhost` only through the hosts file (browsers and curl do it themselves).
#[test]
fn domain_localhost_still_gets_a_block_for_safari_and_command_line_tools() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    std::fs::write(&file, "127.0.0.1 localhost\n").unwrap();
    let r: Run = kindling(
        dir.path(),
        "kc",
        &[
            "--set",
            "network.domain=localhost",
            "hosts",
            "apply",
            "--file",
            file.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap()
    .into();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_one_full_block(&text, "kc");
    assert!(text.contains("127.0.0.1\tdemo.localhost\n"), "{text}");
    assert!(!text.contains("::1"), "no IPv6 line: {text}");
    assert_eq!(hosts(dir.path(), "kc", "remove", &file).code, Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "127.0.0.1 localhost\n"
    );
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("kindling-tmp"))
        .collect()
}

#[test]
fn a_failure_between_write_and_rename_leaves_the_old_file_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    let original = "127.0.0.1 localhost\r\n";
    std::fs::write(&path, original).unwrap();
    let names: Vec<String> = vec!["demo.localhost".into()];
    let change = |t: &str| block::apply(t, "kc", &names);
    // The temp file is complete when rename is called; the "crash" is here.
    let crash = |tmp: &Path, _: &Path| -> std::io::Result<()> {
        assert_eq!(
            std::fs::read_to_string(tmp).unwrap(),
            block::apply(original, "kc", &["demo.localhost".to_string()])
        );
        Err(std::io::Error::other("simulated crash before rename"))
    };
    let err = file::update(&path, &change, &crash).unwrap_err();
    let chain = kindling::error::full_line(&err);
    assert!(chain.contains("simulated crash"), "{chain}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());

    // A run killed right there leaves its temp file; the next run (under the lock) removes it.
    let stale = dir.path().join(".hosts.kindling-tmp-999999");
    std::fs::write(&stale, "half").unwrap();
    let (written, old) = file::update(&path, &change, &file::rename).unwrap();
    assert_eq!((written, old.as_str()), (Written::Renamed, original));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), change(original));
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}

/// A real bind mount over the file, as Docker does with /etc/hosts: rename(2)
/// onto it fails with EBUSY, so kindling writes in place.
#[test]
fn bind_mounted_file_is_written_in_place() {
    if !rustix::process::geteuid().is_root() {
        return support::skip("bind mounts need root").unwrap_or(());
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source-hosts");
    let target = dir.path().join("hosts");
    std::fs::write(&source, "127.0.0.1 localhost\n10.0.0.5 nas").unwrap();
    std::fs::write(&target, "").unwrap();
    let mounted = Command::new("mount")
        .arg("--bind")
        .arg(&source)
        .arg(&target)
        .status()
        .unwrap();
    if !mounted.success() {
        return support::skip("cannot bind-mount here").unwrap_or(());
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(target.clone());
    let r = hosts(dir.path(), "kc", "apply", &target);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("in place"), "{}", r.stdout);
    let text = std::fs::read_to_string(&source).unwrap();
    assert_one_full_block(&text, "kc");
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
    // Shorter content in place: the old tail is cut off.
    let r = hosts(dir.path(), "kc", "remove", &target);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&source).unwrap(),
        "127.0.0.1 localhost\n10.0.0.5 nas"
    );
}

/// Read-only for real: a read-only bind mount. Even root cannot write: a clear
/// error, the file untouched.
#[test]
fn read_only_file_is_refused_and_untouched() {
    if !rustix::process::geteuid().is_root() {
        return support::skip("bind mounts need root").unwrap_or(());
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    std::fs::write(&file, "127.0.0.1 localhost\n").unwrap();
    let ok = Command::new("mount")
        .arg("--bind")
        .arg(&file)
        .arg(&file)
        .status()
        .unwrap()
        .success()
        && Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(&file)
            .status()
            .unwrap()
            .success();
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(file.clone());
    if !ok {
        return support::skip("cannot make a read-only bind mount here").unwrap_or(());
    }
    let r = hosts(dir.path(), "kc", "apply", &file);
    assert_eq!(r.code, Some(1), "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "127.0.0.1 localhost\n"
    );
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}

/// A real unprivileged user (nobody, via setpriv) and a root-owned 0644 file.
/// Without sudo: exit 1, the exact command to run, the file untouched. With a
/// sudo (a stand-in that cannot really elevate): it says why first, runs exactly
/// that command once, and still leaves the file untouched when that fails.
#[test]
fn unwritable_file_gives_the_exact_command_and_stays_untouched() {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/bin/setpriv").exists() {
        return support::skip("needs root and setpriv to run as nobody").unwrap_or(());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("hosts");
    let original = "127.0.0.1 localhost\n";
    std::fs::write(&file, original).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_nobody = |extra_env: &[(&str, &str)]| -> Run {
        let mut c = Command::new("/usr/bin/setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(support::kindling_bin())
            .args(["--set", "cluster.name=kc", "hosts", "apply", "--file"])
            .arg(&file)
            .current_dir(dir.path())
            .env("PATH", "/nonexistent")
            .env("KINDLING_DATA_DIR", dir.path().join("data"));
        for (k, v) in extra_env {
            c.env(k, v);
        }
        c.output().unwrap().into()
    };
    let expected = format!(
        "sudo {} --set cluster.name=kc --set network.domain=localhost hosts apply --file {} --no-sudo",
        support::kindling_bin().display(),
        file.display()
    );

    let r = as_nobody(&[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("not writable") && r.stderr.contains(&expected),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(!file::lock_path(&file).exists() && temp_files(dir.path()).is_empty());

    let log = dir.path().join("sudo.log");
    let sudo = dir.path().join("fake-sudo");
    std::fs::write(
        &sudo,
        format!("#!/bin/sh\necho \"$*\" >> {}\nexec \"$@\"\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = as_nobody(&[("KINDLING_SUDO", sudo.to_str().unwrap())]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged.lines().count(),
        1,
        "sudo must run once (no loop): {logged}"
    );
    assert_eq!(format!("sudo {}", logged.trim()), expected);
    let why = r.stderr.find("not writable").expect("says why");
    assert!(r.stderr[why..].contains("fake-sudo"), "{}", r.stderr);
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);

    // The command given is the right one: run as root (what sudo would do), it applies.
    let words: Vec<&str> = expected.split(' ').skip(1).collect();
    let status = Command::new(words[0])
        .args(&words[1..])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_one_full_block(&std::fs::read_to_string(&file).unwrap(), "kc");
}

#[test]
fn twenty_concurrent_applies_leave_exactly_one_block() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    let original = "127.0.0.1 localhost\n::1 localhost\n# keep me\n";
    std::fs::write(&file, original).unwrap();
    let children: Vec<_> = (0..20)
        .map(|_| {
            kindling(
                dir.path(),
                "kc",
                &["hosts", "apply", "--file", file.to_str().unwrap()],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert_one_full_block(&text, "kc");
    assert!(text.starts_with(original));
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
    assert_eq!(hosts(dir.path(), "kc", "remove", &file).code, Some(0));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}
