//! A line reader with a bound: it never holds more than one line of at most [`MAX_LINE_BYTES`], however
//! long the input or any line in it.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line the import reads, in bytes (without its line break): 64 KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One line: its text, or the fact that it was too long to keep.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line without its `\n` (or `\r\n`).
    Text(&'a [u8]),
    /// Longer than [`MAX_LINE_BYTES`]; its bytes were read and dropped.
    TooLong,
}

/// Reads numbered lines (from 1) from a buffered byte stream, keeping at most one line of at most
/// [`MAX_LINE_BYTES`] (plus a `\r`). A longer line is read through without being kept. The last line
/// needs no line break.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    line: Vec<u8>,
    next_number: u64,
    idle_timeout: Duration,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads lines from `reader`; a read that brings no byte within `idle_timeout` fails with
    /// `io::ErrorKind::TimedOut` (a stalled download must not hang the import).
    pub fn new(reader: R, idle_timeout: Duration) -> Self {
        Self {
            reader,
            // Allocated once at its bound, so it never grows (or doubles past it).
            line: Vec::with_capacity(MAX_LINE_BYTES + 1),
            next_number: 1,
            idle_timeout,
        }
    }

    /// The number the next line will have.
    pub fn next_number(&self) -> u64 {
        self.next_number
    }

    /// The bytes this reader holds for the current line: never more than `MAX_LINE_BYTES + 1`.
    pub fn held_capacity(&self) -> usize {
        self.line.capacity()
    }

    /// The next line and its number, or `None` at the end of the input.
    pub async fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        let number = self.next_number;
        let Some(too_long) = self.read_line(true).await? else {
            return Ok(None);
        };
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if too_long || self.line.len() > MAX_LINE_BYTES {
            return Ok(Some((number, Line::TooLong)));
        }
        Ok(Some((number, Line::Text(&self.line))))
    }

    /// Reads through the next line without keeping any of it. False at the end of the input.
    pub async fn skip_line(&mut self) -> io::Result<bool> {
        Ok(self.read_line(false).await?.is_some())
    }

    /// True when the input has no byte left.
    pub async fn at_end(&mut self) -> io::Result<bool> {
        Ok(fill(&mut self.reader, self.idle_timeout).await?.is_empty())
    }

    /// Reads one line into `self.line` (when `keep`), up to one byte more than a line may hold so a
    /// trailing `\r` fits. `None` at the end of the input; otherwise whether the line was too long.
    async fn read_line(&mut self, keep: bool) -> io::Result<Option<bool>> {
        self.line.clear();
        let mut too_long = false;
        let mut read_any = false;
        loop {
            let chunk = fill(&mut self.reader, self.idle_timeout).await?;
            if chunk.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let (part, used, ended) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (&chunk[..at], at + 1, true),
                None => (chunk, chunk.len(), false),
            };
            if keep && !too_long {
                if self.line.len() + part.len() > MAX_LINE_BYTES + 1 {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(part);
                }
            }
            self.reader.consume(used);
            if ended {
                break;
            }
        }
        self.next_number += 1;
        Ok(Some(too_long))
    }
}

/// The reader's buffered bytes, reading more if it has none; empty at the end of the input.
async fn fill<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    idle_timeout: Duration,
) -> io::Result<&[u8]> {
    match tokio::time::timeout(idle_timeout, reader.fill_buf()).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no data for {idle_timeout:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, BufReader, ReadBuf};

    use super::*;

    const IDLE: Duration = Duration::from_secs(5);

    /// Every line of `input` read through a buffer of `chunk` bytes, as (number, text or None when too
    /// long).
    async fn read_all(input: &[u8], chunk: usize) -> Vec<(u64, Option<Vec<u8>>)> {
        let mut reader = LineReader::new(BufReader::with_capacity(chunk, input), IDLE);
        let mut lines = Vec::new();
        while let Some((number, line)) = reader.next_line().await.unwrap() {
            lines.push((
                number,
                match line {
                    Line::Text(text) => Some(text.to_vec()),
                    Line::TooLong => None,
                },
            ));
        }
        lines
    }

    fn text(number: u64, line: &str) -> (u64, Option<Vec<u8>>) {
        (number, Some(line.as_bytes().to_vec()))
    }

    #[tokio::test]
    async fn lines_are_numbered_from_one_with_lf_crlf_and_no_final_break() {
        for chunk in [1, 3, 8192] {
            assert_eq!(
                read_all(b"a\r\n\nbc\n  \nlast", chunk).await,
                vec![
                    text(1, "a"),
                    text(2, ""),
                    text(3, "bc"),
                    text(4, "  "),
                    text(5, "last")
                ],
                "chunk {chunk}"
            );
        }
        assert_eq!(read_all(b"", 8).await, vec![]);
        assert_eq!(read_all(b"only\n", 8).await, vec![text(1, "only")]);
    }

    #[tokio::test]
    async fn a_line_of_exactly_64_kib_is_kept_and_one_byte_more_is_too_long() {
        let exact = "x".repeat(MAX_LINE_BYTES);
        let over = "y".repeat(MAX_LINE_BYTES + 1);
        let input = format!("{exact}\n{over}\n{exact}\r\n{over}\r\nend");

        for chunk in [7, 8192, 200_000] {
            assert_eq!(
                read_all(input.as_bytes(), chunk).await,
                vec![
                    text(1, &exact),
                    (2, None),
                    text(3, &exact),
                    (4, None),
                    text(5, "end")
                ],
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn the_line_buffer_stays_at_its_bound_through_long_lines() {
        let input = format!(
            "short\n{}\n{}\nend",
            "a".repeat(MAX_LINE_BYTES),
            "b".repeat(5 * MAX_LINE_BYTES)
        );
        let mut reader = LineReader::new(BufReader::with_capacity(1000, input.as_bytes()), IDLE);

        while reader.next_line().await.unwrap().is_some() {
            assert_eq!(reader.held_capacity(), MAX_LINE_BYTES + 1);
        }
    }

    #[tokio::test]
    async fn skipped_lines_count_and_a_long_one_is_read_through() {
        let input = format!("{}\nsecond\nthird", "z".repeat(3 * MAX_LINE_BYTES));
        let mut reader = LineReader::new(BufReader::with_capacity(64, input.as_bytes()), IDLE);

        assert!(reader.skip_line().await.unwrap());
        assert!(reader.skip_line().await.unwrap());
        assert_eq!(reader.next_number(), 3);
        assert!(!reader.at_end().await.unwrap());
        assert_eq!(
            reader.next_line().await.unwrap(),
            Some((3, Line::Text(&b"third"[..])))
        );
        assert!(reader.at_end().await.unwrap());
        assert!(!reader.skip_line().await.unwrap());
    }

    /// A reader that never brings a byte.
    struct Stalled;

    impl AsyncRead for Stalled {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_input_times_out() {
        let mut reader = LineReader::new(BufReader::new(Stalled), Duration::from_millis(20));

        let err = reader.next_line().await.unwrap_err();

        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
