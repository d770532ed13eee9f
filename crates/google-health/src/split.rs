//! One quick pass over a `list` response that finds each data point's JSON text and the page
//! token, without parsing the points: the caller parses each point once, straight into its own
//! form (a full parse here first doubled an import's CPU time). The points are checked by that
//! parse; the structure around them is checked here.

use std::ops::Range;

/// The points' byte ranges and the `nextPageToken` value (if any) of a `list` response.
pub(crate) fn list_response(body: &str) -> Result<(Vec<Range<usize>>, Option<String>), String> {
    let mut scan = Scanner {
        bytes: body.as_bytes(),
        at: 0,
    };
    let mut points = Vec::new();
    let mut token = None;
    scan.expect(b'{', "the response is not a JSON object")?;
    if !scan.eat(b'}') {
        loop {
            let key = scan.string()?;
            scan.expect(b':', "expected ':' after a member name")?;
            match &body[key] {
                "\"dataPoints\"" => points = scan.points()?,
                "\"nextPageToken\"" => {
                    let value = scan.value()?;
                    token = serde_json::from_str(&body[value])
                        .map_err(|error| format!("nextPageToken: {error}"))?;
                }
                _ => {
                    scan.value()?;
                }
            }
            if scan.eat(b'}') {
                break;
            }
            scan.expect(b',', "expected ',' or '}' in the response object")?;
        }
    }
    scan.skip_whitespace();
    if scan.at != scan.bytes.len() {
        return Err("trailing characters after the response object".into());
    }
    Ok((points, token))
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_whitespace(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|byte| matches!(byte, b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8, problem: &str) -> Result<(), String> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(problem.to_owned())
        }
    }

    /// `dataPoints`: an array of objects, or `null`.
    fn points(&mut self) -> Result<Vec<Range<usize>>, String> {
        let mut points = Vec::new();
        if self.peek() == Some(b'n') {
            self.value()?;
            return Ok(points);
        }
        self.expect(b'[', "dataPoints is not an array")?;
        if self.eat(b']') {
            return Ok(points);
        }
        loop {
            if self.peek() != Some(b'{') {
                return Err("a data point is not a JSON object".into());
            }
            points.push(self.value()?);
            if self.eat(b']') {
                return Ok(points);
            }
            self.expect(b',', "expected ',' or ']' between data points")?;
        }
    }

    /// A string, quotes included.
    fn string(&mut self) -> Result<Range<usize>, String> {
        if self.peek() != Some(b'"') {
            return Err("expected a string".into());
        }
        let start = self.at;
        self.at += 1;
        loop {
            self.at = quote_or_backslash(self.bytes, self.at);
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(start..self.at);
                }
                Some(_) => self.at += 2,
                None => return Err("unterminated string".into()),
            }
        }
    }

    /// Any value; objects and arrays by their brackets, strings by their quotes.
    fn value(&mut self) -> Result<Range<usize>, String> {
        let start = match self.peek() {
            Some(b'"') => return self.string(),
            Some(_) => self.at,
            None => return Err("expected a value".into()),
        };
        let mut depth = 0usize;
        while let Some(&byte) = self.bytes.get(self.at) {
            match byte {
                b'"' => {
                    self.string()?;
                    if depth == 0 {
                        break;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => break,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        break;
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' if depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        if depth > 0 {
            return Err("unterminated object or array".into());
        }
        if self.at == start {
            return Err("expected a value".into());
        }
        Ok(start..self.at)
    }
}

/// The index of the first quote or backslash at or after `from` (or the length): eight bytes at a
/// time, since most of a response is inside strings.
fn quote_or_backslash(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_byte = |word: u64, byte: u8| {
        let matched = word ^ (ONES * u64::from(byte));
        matched.wrapping_sub(ONES) & !matched & HIGHS != 0
    };
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_ne_bytes(chunk.try_into().expect("eight bytes"));
        if has_byte(word, b'"') || has_byte(word, b'\\') {
            break;
        }
        at += 8;
    }
    while at < bytes.len() && !matches!(bytes[at], b'"' | b'\\') {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Result<(Vec<&str>, Option<String>), String> {
        let (points, token) = list_response(body)?;
        Ok((
            points.into_iter().map(|range| &body[range]).collect(),
            token,
        ))
    }

    #[test]
    fn points_and_token_are_found_in_any_order_and_spacing() {
        let body = r#" { "nextPageToken" : "a\"b" , "other": {"x": [1, "]"]}, "n": -1.5e3,
            "dataPoints": [ {"s": "}\\"} ,{"t": [{}, []]} ] } "#;
        let (points, token) = texts(body).unwrap();
        assert_eq!(points, [r#"{"s": "}\\"}"#, r#"{"t": [{}, []]}"#]);
        assert_eq!(token.as_deref(), Some("a\"b"));
        assert_eq!(texts("{}").unwrap(), (vec![], None));
        assert_eq!(
            texts(r#"{"dataPoints": null, "nextPageToken": null}"#).unwrap(),
            (vec![], None)
        );
    }

    #[test]
    fn the_word_search_finds_the_first_quote_or_backslash() {
        let text = b"abcdefghijklmnopqrstu\"vw\\xyz";
        for from in 0..text.len() {
            let expected = (from..text.len())
                .find(|&at| matches!(text[at], b'"' | b'\\'))
                .unwrap_or(text.len());
            assert_eq!(quote_or_backslash(text, from), expected, "from {from}");
        }
    }

    #[test]
    fn broken_structure_is_an_error() {
        for body in [
            "",
            "[]",
            "{",
            r#"{"dataPoints": [1]}"#,
            r#"{"dataPoints": [{}"#,
            r#"{"a" 1}"#,
            r#"{"a": 1,}"#,
            r#"{"a": "x}"#,
            r#"{"a": 1} x"#,
            r#"{"nextPageToken": 5}"#,
            r#"{"dataPoints": {}}"#,
            r#"{"a": }"#,
        ] {
            assert!(list_response(body).is_err(), "{body:?}");
        }
    }
}
