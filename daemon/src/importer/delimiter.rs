//! Which character separates the columns of a dropped file.
//!
//! Spreadsheets save "CSV" with the list separator of the user's locale:
//! Excel in Germany, France or the Netherlands writes `Name;Email;Role`, and
//! "Text (tab-delimited)" is one menu entry away. HR saves what its Excel
//! saves, so the header line decides: the separator it uses most (outside
//! quotes) among comma, semicolon and tab, and a comma when it has none.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The separators a header may use, the default first (it wins ties).
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

/// Longest header read to decide; a header longer than this is decided on
/// its first part.
const HEADER_PEEK: usize = 64 * 1024;

/// The column separator of `file`, read from its start without moving its
/// offset.
pub fn of_file(file: &File) -> io::Result<u8> {
    let mut head = vec![0; HEADER_PEEK];
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(of_header(&head[..filled]))
}

/// The separator the first line of `text` uses most outside quotes.
pub fn of_header(text: &[u8]) -> u8 {
    let mut counts = [0usize; CANDIDATES.len()];
    let mut quoted = false;
    for &byte in text {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == byte) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = counts
        .iter()
        .enumerate()
        .fold(0, |best, (i, &n)| if n > counts[best] { i } else { best });
    CANDIDATES[best]
}

#[cfg(test)]
mod tests {
    use super::of_header;

    #[test]
    fn the_header_line_decides_the_separator() {
        let cases: [(&[u8], u8); 8] = [
            (b"name,email,role\nA;B,a@x,builder\n", b','),
            (b"Name;Email;Role\r\nAnna;anna@example.de;builder\r\n", b';'),
            (b"name\temail\trole\n", b'\t'),
            // ToolJet's template: groups are `|`-separated inside a column.
            (b"First Name,Last Name,Email,User Role,Group\n", b','),
            // A quoted header name may hold another separator.
            (b"\"Name, full\";Email;Role\n", b';'),
            (b"email\n", b','),
            (b"", b','),
            // A tie goes to the comma.
            (b"a,b;c\n", b','),
        ];
        for (text, want) in cases {
            assert_eq!(
                of_header(text) as char,
                want as char,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
