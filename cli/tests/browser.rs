//! The verification page in a real browser: headless Chromium (Debian's `chromium` package,
//! installed by .ci/run) renders it at phone width, in English and in Chinese; the screenshots
//! are kept for people to look at.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_rxchain");
/// Longest the demo may take to print its links.
const STARTUP_TIMEOUT_MS: u64 = 60_000;
/// A phone's CSS viewport (iPhone 14).
const PHONE_WIDTH_PIXELS: u32 = 390;
const PHONE_HEIGHT_PIXELS: u32 = 844;

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

fn chromium_command(binary: &Path, profile: &Path) -> Command {
    let mut command = Command::new(binary);
    // The flags this machine needs: no sandbox as root, and no background connections (the
    // network is closed; they would only fail and slow the start).
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command.stderr(Stdio::null());
    command
}

#[test]
fn verification_page_renders_at_phone_width_in_both_languages() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have chromium: .ci/run installs Debian's chromium package"
        );
        eprintln!("chromium is not installed; skipping the browser test outside CI");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Command::new(BINARY)
        .args([
            "demo",
            "--dir",
            dir.path().join("demo").to_str().unwrap(),
            "--api",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = demo.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_millis(STARTUP_TIMEOUT_MS);
    let mut links = Vec::new();
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo prints its links");
        if let Some(link) = line.split_whitespace().find(|word| word.contains("/01/")) {
            links.push(link.to_string());
        }
        if line.contains("Serving until Ctrl-C") {
            break;
        }
    }
    // The second printed pack is in stock at the pharmacy: genuine.
    let link = &links[1];

    let dom = chromium_command(&browser, &dir.path().join("profile-dom"))
        .args(["--dump-dom", link])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<h1>Genuine</h1>"), "{dom}");
    assert!(dom.contains("Where it has been"));
    assert!(dom.contains("Kangda Pharmaceutical Distribution"));
    assert!(
        dom.contains("Shipped to Kangda Pharmaceutical Distribution"),
        "counterparties by name"
    );
    assert!(
        dom.contains("<td>huaxin-pharma</td>"),
        "the manufacturer is proven from the receipt"
    );
    assert!(
        dom.contains("manufacturer · Shijiazhuang, Hebei"),
        "each step shows the organization's role and place"
    );

    // The same page in Chinese, by the page's own switch.
    let chinese_link = format!("{link}?lang=zh");
    let dom = chromium_command(&browser, &dir.path().join("profile-dom-zh"))
        .args(["--dump-dom", &chinese_link])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<html lang=\"zh-CN\">"), "{dom}");
    assert!(dom.contains("<h1>正品</h1>"), "{dom}");
    assert!(dom.contains("流通记录"));
    assert!(
        dom.contains("发往 Kangda Pharmaceutical Distribution"),
        "{dom}"
    );
    assert!(
        dom.contains("生产企业 · Shijiazhuang, Hebei"),
        "roles in the page's language: {dom}"
    );
    assert!(dom.contains(">English</a>"), "a switch back to English");

    let screenshots = std::env::var("RXCHAIN_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().to_path_buf());
    for (name, url) in [("en", link.clone()), ("zh", chinese_link)] {
        let screenshot = screenshots.join(format!("verification-phone-{name}.png"));
        let status = chromium_command(&browser, &dir.path().join(format!("profile-shot-{name}")))
            .arg(format!("--screenshot={}", screenshot.display()))
            .arg(format!(
                "--window-size={PHONE_WIDTH_PIXELS},{PHONE_HEIGHT_PIXELS}"
            ))
            .arg(&url)
            .status()
            .unwrap();
        assert!(status.success());
        let png = std::fs::read(&screenshot).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert_eq!(width, PHONE_WIDTH_PIXELS, "{name}: rendered at phone width");
        // A blank page compresses to almost nothing; a rendered page with text and colour does
        // not (and a page whose Chinese fell back to empty boxes would be much smaller).
        assert!(
            png.len() > 20_000,
            "{name}: screenshot is {} bytes",
            png.len()
        );
    }

    let _ = demo.kill();
    let _ = demo.wait();
}
