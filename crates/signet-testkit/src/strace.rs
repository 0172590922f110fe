//! The trace-line parser: the output of `strace -f -tt -yy`, one system call a line, with
//! the `<unfinished ...>` and `<... resumed>` pairs of calls that other threads
//! interrupted, read into [`Event`]s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One system call as strace printed it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The line of the trace it is on (1-based), or of its completion.
    pub line: usize,
    /// The system call's name.
    pub name: String,
    /// The arguments, split at top-level commas (strings still quoted).
    pub args: Vec<String>,
    /// The return value, or `None` at the call's entry (before it returned).
    pub ret: Option<String>,
}

impl Call {
    /// True when the call returned, and returned neither an error nor `?`.
    pub fn ok(&self) -> bool {
        self.ret
            .as_deref()
            .is_some_and(|r| !r.starts_with('-') && !r.starts_with('?'))
    }
}

/// What happens in the trace, in order: a call's entry and its completion are separate
/// events when other threads ran in between.
#[derive(Debug, Clone)]
pub enum Event {
    /// A call's entry, with the arguments printed so far and no return value.
    Entry(Call),
    /// A call's completion, with the line of its entry.
    Exit(Call, usize),
}

/// The events of a whole trace, in order.
pub fn events(trace: &str) -> Vec<Event> {
    let mut out = Vec::new();
    // Per thread: the call it started and has not finished, with its entry line.
    let mut unfinished: HashMap<String, (String, usize)> = HashMap::new();
    for (i, line) in trace.lines().enumerate() {
        let line_no = i + 1;
        // `<pid> <time> <call>`; strace pads the pid column when pids differ in width
        // (a 4-digit pid beside 5-digit ones), so split at runs of spaces.
        let Some((pid, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Some((_time, rest)) = rest.trim_start().split_once(' ') else {
            continue;
        };
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            let Some((head, entry_line)) = unfinished.remove(pid) else {
                continue;
            };
            let mut full = head;
            full.push_str(tail);
            if let Some(call) = parse_call(line_no, name, &full, true) {
                out.push(Event::Exit(call, entry_line));
            }
        } else if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            let head = head.trim_end();
            let Some((name, args)) = head.split_once('(') else {
                continue;
            };
            let mut args = args.to_owned();
            if args.ends_with(',') {
                args.push(' ');
            }
            if let Some(call) = parse_call(line_no, name, &args, false) {
                out.push(Event::Entry(call));
            }
            unfinished.insert(pid.to_owned(), (args, line_no));
        } else if let Some((name, args)) = rest.split_once('(')
            && let Some(call) = parse_call(line_no, name, args, true)
        {
            out.push(Event::Entry(Call {
                ret: None,
                ..call.clone()
            }));
            out.push(Event::Exit(call, line_no));
        }
    }
    out
}

/// Parses `args) = ret` (or, at an entry, the arguments printed so far).
pub fn parse_call(line: usize, name: &str, text: &str, complete: bool) -> Option<Call> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
    let mut end = None;
    for (i, c) in text.char_indices() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '[' | '{' | '(' => {
                depth += 1;
                cur.push(c);
            }
            ']' | '}' => {
                depth -= 1;
                cur.push(c);
            }
            ')' if depth == 0 => {
                end = Some(i);
                break;
            }
            ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => {
                args.push(cur.trim().to_owned());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        args.push(cur.trim().to_owned());
    }
    let ret = if complete {
        let rest = &text[end? + 1..];
        Some(rest.trim_start().strip_prefix('=')?.trim().to_owned())
    } else {
        None
    };
    Some(Call {
        line,
        name: name.to_owned(),
        args,
        ret,
    })
}

/// Decodes a strace string argument (`"..."` or `"..."...` when truncated).
pub fn decode_str(arg: &str) -> Option<(Vec<u8>, bool)> {
    let arg = arg.trim();
    let arg = arg.strip_prefix("iov_base=").unwrap_or(arg);
    let truncated = arg.ends_with("\"...");
    let inner = arg.strip_prefix('"')?;
    let inner = inner
        .strip_suffix("...")
        .unwrap_or(inner)
        .strip_suffix('"')?;
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' if i + 2 < b.len() + 1 => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            d @ b'0'..=b'7' => {
                let mut v = u32::from(d - b'0');
                let mut n = 1;
                while n < 3 && i + 1 < b.len() && (b'0'..=b'7').contains(&b[i + 1]) {
                    i += 1;
                    n += 1;
                    v = v * 8 + u32::from(b[i] - b'0');
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
        i += 1;
    }
    Some((out, truncated))
}

/// Every string in an argument list, decoded and concatenated (for writev's iovecs).
pub fn all_strings(args: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in args {
        let mut rest = a.as_str();
        while let Some(start) = rest.find('"') {
            let s = &rest[start..];
            // Find the closing quote, skipping escapes.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in s.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                }
            }
            let Some(end) = end else { break };
            if let Some((bytes, _)) = decode_str(&s[..=end]) {
                out.extend_from_slice(&bytes);
            }
            rest = &s[end + 1..];
        }
    }
    out
}

/// The path in an fd argument annotated by `-yy`: `5</a/b>` gives `/a/b`.
pub fn fd_path(arg: &str) -> Option<&str> {
    let start = arg.find('<')?;
    let inner = arg[start + 1..].strip_suffix('>')?;
    let inner = inner.strip_suffix(" (deleted)").unwrap_or(inner);
    inner.starts_with('/').then_some(inner)
}

/// True when an fd argument annotated by `-yy` is a TCP socket.
pub fn is_tcp(arg: &str) -> bool {
    arg.contains("<TCP:") || arg.contains("<TCPv6:")
}

/// Resolves a path argument, relative to a directory fd argument when there is one.
pub fn path_arg(dirfd: Option<&str>, arg: &str) -> Option<PathBuf> {
    let (bytes, _) = decode_str(arg)?;
    let p = PathBuf::from(String::from_utf8(bytes).ok()?);
    if p.is_absolute() {
        return Some(p);
    }
    Some(Path::new(fd_path(dirfd?)?).join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of the events of `trace`, `>` marking an entry and `<` a completion.
    fn check(trace: &str, expected: &[&str]) {
        let actual: Vec<String> = events(trace)
            .into_iter()
            .map(|e| match e {
                Event::Entry(c) => format!(">{}", c.name),
                Event::Exit(c, entry) => format!("<{}@{entry}", c.name),
            })
            .collect();
        assert_eq!(actual, expected, "{trace}");
    }

    /// strace pads the pid column when pids differ in width; a padded line is a call like
    /// any other (a fresh machine's low pids once hid every acknowledgement from the checker).
    #[test]
    fn trace_lines_with_a_padded_pid_column_are_read() {
        for line in [
            "6569  13:53:23.819442 fsync(3</r/x>) = 0",
            "16569 13:53:23.819442 fsync(3</r/x>) = 0",
        ] {
            let names: Vec<String> = events(line)
                .into_iter()
                .map(|e| match e {
                    Event::Entry(c) | Event::Exit(c, _) => c.name,
                })
                .collect();
            assert_eq!(names, ["fsync", "fsync"], "{line}");
        }
    }

    #[test]
    fn unfinished_calls_complete_at_their_resumption() {
        check(
            "1 10:00:00.1 fsync(3</a> <unfinished ...>\n\
             2 10:00:00.2 write(4</b>, \"x\", 1) = 1\n\
             1 10:00:00.3 <... fsync resumed>) = 0\n\
             2 10:00:00.4 +++ exited with 0 +++\n",
            &[">fsync", ">write", "<write@2", "<fsync@1"],
        );
        // A resumption with no unfinished call of its thread is not an event.
        check("1 10:00:00.1 <... fsync resumed>) = 0", &[]);
        // Signals and exits are not calls.
        check("1 10:00:00.1 --- SIGTERM {si_signo=SIGTERM} ---", &[]);
    }

    #[test]
    fn arguments_and_results_are_split_where_strace_puts_them() {
        let events = events(
            "7 10:00:00.1 renameat2(AT_FDCWD</>, \"/a, b\", AT_FDCWD</>, \"/c\", 0) = -1 ENOENT (x)",
        );
        let Some(Event::Exit(call, 1)) = events.last() else {
            panic!("no completion in {events:?}");
        };
        assert_eq!(
            call.args,
            ["AT_FDCWD</>", "\"/a, b\"", "AT_FDCWD</>", "\"/c\"", "0"]
        );
        assert_eq!(call.ret.as_deref(), Some("-1 ENOENT (x)"));
        assert!(!call.ok());
        assert_eq!(
            path_arg(Some("AT_FDCWD</>"), "\"/c\""),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            path_arg(Some("5</d>"), "\"e\""),
            Some(PathBuf::from("/d/e"))
        );
        assert_eq!(fd_path("5</a/b (deleted)>"), Some("/a/b"));
        assert_eq!(fd_path("AT_FDCWD"), None);
        assert!(is_tcp("9<TCP:[127.0.0.1:80->127.0.0.1:5000]>"));
        assert!(!is_tcp("9</tmp/x>"));
    }

    #[test]
    fn strings_are_decoded_with_every_escape() {
        for (arg, bytes, truncated) in [
            (r#""plain""#, &b"plain"[..], false),
            (r#""\n\t\r\v\f""#, b"\n\t\r\x0b\x0c", false),
            (r#""\x00\xe2\x80\x94""#, "\0\u{2014}".as_bytes(), false),
            (r#""\0\12\177""#, b"\0\n\x7f", false),
            (r#""\"q\"\\""#, b"\"q\"\\", false),
            (r#""cut"..."#, b"cut", true),
            (r#"iov_base="v""#, b"v", false),
        ] {
            assert_eq!(decode_str(arg), Some((bytes.to_vec(), truncated)), "{arg}");
        }
        assert_eq!(decode_str("AT_FDCWD"), None);
        assert_eq!(
            all_strings(&[
                r#"[{iov_base="HTTP/1.1 201\r\n", iov_len=14}, {iov_base="{\"index\":0}", iov_len=11}]"#
                    .to_owned()
            ]),
            b"HTTP/1.1 201\r\n{\"index\":0}"
        );
    }
}
