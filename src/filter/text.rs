//! CQL2 text (`filter-lang=cql2-text`): a tokenizer and a recursive-descent parser over the
//! subset machimap declares (basic CQL2, advanced comparison, CASEI, S_INTERSECTS with WKT and
//! BBOX literals, property-property comparison). Every error names the character where it
//! failed, the token found there and what was expected.

use super::ast::{Ast, Atom, CmpOp, Operand};
use super::{FilterError, MAX_DEPTH};
use geo::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Rect,
};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A name; `quoted` when written in double quotes (never a keyword then).
    Ident(String, bool),
    Str(String),
    Num(f64),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position.
    at: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s, true) => format!("\"{s}\""),
        Tok::Ident(s, false) => s.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => format!("{n}"),
        Tok::Op(o) => (*o).to_string(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::Comma => ",".into(),
        Tok::End => "the end of the filter".into(),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '.')
}

fn lex(s: &str) -> Result<Vec<Token>, FilterError> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |at: usize, found: String, expected: &str| FilterError::Syntax {
        at: format!("character {at}"),
        found,
        expected: expected.into(),
    };
    while i < cs.len() {
        let c = cs[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                Tok::Op("=")
            }
            '<' => match cs.get(i + 1) {
                Some('>') => {
                    i += 2;
                    Tok::Op("<>")
                }
                Some('=') => {
                    i += 2;
                    Tok::Op("<=")
                }
                _ => {
                    i += 1;
                    Tok::Op("<")
                }
            },
            '>' => {
                if cs.get(i + 1) == Some(&'=') {
                    i += 2;
                    Tok::Op(">=")
                } else {
                    i += 1;
                    Tok::Op(">")
                }
            }
            '\'' => {
                // '' and \' are an escaped quote (CQL2 escapeQuote).
                let mut v = String::new();
                i += 1;
                loop {
                    match cs.get(i) {
                        None => {
                            return Err(err(
                                at,
                                "a string that is never closed".into(),
                                "a closing ' (write '' for a quote inside a string)",
                            ))
                        }
                        Some('\'') if cs.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\\') if cs.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Str(v)
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match cs.get(i) {
                        None => {
                            return Err(err(
                                at,
                                "a quoted name that is never closed".into(),
                                "a closing \"",
                            ))
                        }
                        Some('"') if cs.get(i + 1) == Some(&'"') => {
                            v.push('"');
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Ident(v, true)
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && cs
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_digit() || *n == '.')) =>
            {
                let start = i;
                i += 1;
                while let Some(&n) = cs.get(i) {
                    let exp_sign = (n == '-' || n == '+') && matches!(cs[i - 1], 'e' | 'E');
                    if n.is_ascii_digit() || n == '.' || n == 'e' || n == 'E' || exp_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                let text: String = cs[start..i].iter().collect();
                match text.parse::<f64>() {
                    Ok(n) if n.is_finite() => Tok::Num(n),
                    _ => return Err(err(at, text, "a number such as 4, -1.5 or 2e3")),
                }
            }
            c if is_ident_start(c) => {
                let start = i;
                while cs.get(i).is_some_and(|&n| is_ident_char(n)) {
                    i += 1;
                }
                Tok::Ident(cs[start..i].iter().collect(), false)
            }
            other => {
                return Err(err(
                    at,
                    format!("{other:?}"),
                    "a property name, a literal, an operator (= <> < <= > >=) or a parenthesis",
                ))
            }
        };
        out.push(Token { tok, at });
    }
    out.push(Token {
        tok: Tok::End,
        at: cs.len() + 1,
    });
    Ok(out)
}

/// Parse CQL2 text.
pub fn parse(s: &str) -> Result<Ast, FilterError> {
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let e = p.or_expr()?;
    match &p.peek().tok {
        Tok::End => Ok(e),
        _ => Err(p.expected("AND, OR or the end of the filter")),
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

fn kw(t: &Tok, word: &str) -> bool {
    matches!(t, Tok::Ident(s, false) if s.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn peek2(&self) -> &Tok {
        &self.toks[(self.i + 1).min(self.toks.len() - 1)].tok
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn at(&self) -> String {
        format!("character {}", self.peek().at)
    }
    fn expected(&self, what: &str) -> FilterError {
        FilterError::Syntax {
            at: self.at(),
            found: describe(&self.peek().tok),
            expected: what.into(),
        }
    }
    fn eat_kw(&mut self, word: &str) -> bool {
        if kw(&self.peek().tok, word) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), FilterError> {
        if self.peek().tok == t {
            self.next();
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::TooComplex(format!(
                "nested deeper than {MAX_DEPTH} levels at {}",
                self.at()
            )));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Ast, FilterError> {
        self.enter()?;
        let mut v = vec![self.and_expr()?];
        while self.eat_kw("OR") {
            v.push(self.and_expr()?);
        }
        self.depth -= 1;
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Ast::Or(v)
        })
    }

    fn and_expr(&mut self) -> Result<Ast, FilterError> {
        let mut v = vec![self.not_expr()?];
        while self.eat_kw("AND") {
            v.push(self.not_expr()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Ast::And(v)
        })
    }

    fn not_expr(&mut self) -> Result<Ast, FilterError> {
        if self.eat_kw("NOT") {
            self.enter()?;
            let a = self.not_expr()?;
            self.depth -= 1;
            return Ok(Ast::Not(Box::new(a)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ast, FilterError> {
        if self.peek().tok == Tok::LParen {
            self.next();
            let e = self.or_expr()?;
            self.expect(Tok::RParen, "a closing parenthesis")?;
            return Ok(e);
        }
        let t = self.peek().tok.clone();
        if let Tok::Ident(name, false) = &t {
            let up = name.to_ascii_uppercase();
            if self.peek2() == &Tok::LParen && up.starts_with("S_") {
                return self.spatial(&up);
            }
            if self.peek2() == &Tok::LParen
                && (up.starts_with("T_") || up.starts_with("A_") || up == "ACCENTI")
            {
                return Err(FilterError::Unsupported {
                    at: self.at(),
                    what: format!("function {name}"),
                });
            }
        }
        let a = self.scalar()?;
        self.predicate(a)
    }

    fn predicate(&mut self, a: Operand) -> Result<Ast, FilterError> {
        let t = self.peek().tok.clone();
        if let Tok::Op(o) = t {
            self.next();
            let op = CmpOp::from_symbol(o).ok_or_else(|| self.expected("a comparison"))?;
            let b = self.scalar()?;
            return Ok(Ast::Cmp(op, a, b));
        }
        if self.eat_kw("IS") {
            let neg = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return Err(self.expected("NULL (IS NULL or IS NOT NULL)"));
            }
            return Ok(Ast::IsNull(a, neg));
        }
        let neg = self.eat_kw("NOT");
        if self.eat_kw("LIKE") {
            let b = self.scalar()?;
            return Ok(Ast::Like(a, b, neg));
        }
        if self.eat_kw("BETWEEN") {
            let lo = self.scalar()?;
            if !self.eat_kw("AND") {
                return Err(self.expected("AND (BETWEEN low AND high)"));
            }
            let hi = self.scalar()?;
            return Ok(Ast::Between(a, lo, hi, neg));
        }
        if self.eat_kw("IN") {
            self.expect(Tok::LParen, "( starting the IN list")?;
            let mut list = vec![self.scalar()?];
            while self.peek().tok == Tok::Comma {
                self.next();
                list.push(self.scalar()?);
            }
            self.expect(Tok::RParen, ", or ) closing the IN list")?;
            return Ok(Ast::In(a, list, neg));
        }
        if neg {
            return Err(self.expected("LIKE, BETWEEN or IN after NOT"));
        }
        if let Atom::Bool(b) = a.atom {
            return Ok(Ast::Bool(b));
        }
        Err(self.expected(
            "a comparison (= <> < <= > >=), LIKE, BETWEEN, IN or IS NULL after the operand",
        ))
    }

    fn scalar(&mut self) -> Result<Operand, FilterError> {
        let at = self.at();
        let start = self.i;
        let t = self.next();
        let atom = match t.tok {
            Tok::Str(s) => Atom::Str(s),
            Tok::Num(n) => Atom::Num(n),
            Tok::Ident(name, true) => Atom::Prop(name),
            Tok::Ident(name, false) => {
                let up = name.to_ascii_uppercase();
                let call = self.peek().tok == Tok::LParen;
                match up.as_str() {
                    "TRUE" if !call => Atom::Bool(true),
                    "FALSE" if !call => Atom::Bool(false),
                    "NULL" if !call => {
                        return Err(FilterError::Syntax {
                            at,
                            found: "NULL".into(),
                            expected: "an operand; test for null with IS NULL".into(),
                        })
                    }
                    "DATE" | "TIMESTAMP" if call => {
                        self.next();
                        let s = match self.next().tok {
                            Tok::Str(s) => s,
                            _ => {
                                self.i = start + 2;
                                return Err(self.expected("a quoted date or instant"));
                            }
                        };
                        self.expect(Tok::RParen, ")")?;
                        if up == "DATE" {
                            Atom::Date(s)
                        } else {
                            Atom::Timestamp(s)
                        }
                    }
                    "CASEI" if call => {
                        self.next();
                        self.enter()?;
                        let inner = self.scalar()?;
                        self.depth -= 1;
                        self.expect(Tok::RParen, ") closing CASEI")?;
                        Atom::Casei(Box::new(inner))
                    }
                    "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING"
                    | "MULTIPOLYGON" | "BBOX" | "ENVELOPE"
                        if call =>
                    {
                        self.i = start;
                        Atom::Geom(self.geometry()?)
                    }
                    _ if call => {
                        return Err(FilterError::Unsupported {
                            at,
                            what: format!("function {name}"),
                        })
                    }
                    _ => Atom::Prop(name),
                }
            }
            _ => {
                self.i = start;
                return Err(self.expected(
                    "an operand: a property, a 'string', a number, TRUE/FALSE, DATE(…), \
                     CASEI(…) or a geometry",
                ));
            }
        };
        Ok(Operand { atom, at })
    }

    fn spatial(&mut self, up: &str) -> Result<Ast, FilterError> {
        let at = self.at();
        if up != "S_INTERSECTS" {
            return Err(FilterError::Unsupported {
                at,
                what: format!("function {up} (only S_INTERSECTS is offered)"),
            });
        }
        self.next();
        self.next(); // (
        let a = self.scalar()?;
        self.expect(Tok::Comma, ", between the two S_INTERSECTS arguments")?;
        let b = self.scalar()?;
        self.expect(Tok::RParen, ") closing S_INTERSECTS")?;
        Ok(Ast::Intersects(a, b))
    }

    fn num(&mut self) -> Result<f64, FilterError> {
        match self.peek().tok {
            Tok::Num(n) => {
                self.next();
                Ok(n)
            }
            _ => Err(self.expected("a coordinate (a number)")),
        }
    }

    fn coord(&mut self) -> Result<Coord<f64>, FilterError> {
        let x = self.num()?;
        let y = self.num()?;
        // A third number is a height, accepted and dropped.
        if matches!(self.peek().tok, Tok::Num(_)) {
            self.next();
        }
        Ok(Coord { x, y })
    }

    fn coords(&mut self) -> Result<Vec<Coord<f64>>, FilterError> {
        self.expect(Tok::LParen, "( starting a coordinate list")?;
        let mut v = vec![self.coord()?];
        while self.peek().tok == Tok::Comma {
            self.next();
            v.push(self.coord()?);
        }
        self.expect(Tok::RParen, ", or ) in a coordinate list")?;
        Ok(v)
    }

    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, FilterError>,
    ) -> Result<Vec<T>, FilterError> {
        self.expect(Tok::LParen, "(")?;
        let mut v = vec![item(self)?];
        while self.peek().tok == Tok::Comma {
            self.next();
            v.push(item(self)?);
        }
        self.expect(Tok::RParen, ", or )")?;
        Ok(v)
    }

    fn polygon(&mut self) -> Result<Polygon<f64>, FilterError> {
        let at = self.at();
        let mut rings = self.list(|p| p.coords())?;
        for r in &rings {
            if r.len() < 4 || r.first() != r.last() {
                return Err(FilterError::Syntax {
                    at,
                    found: format!("a ring of {} positions", r.len()),
                    expected: "a closed ring of at least 4 positions (first = last)".into(),
                });
            }
        }
        let ext = LineString::new(rings.remove(0));
        Ok(Polygon::new(
            ext,
            rings.into_iter().map(LineString::new).collect(),
        ))
    }

    fn point_item(&mut self) -> Result<Point<f64>, FilterError> {
        // MULTIPOINT((1 2),(3 4)) and MULTIPOINT(1 2, 3 4) are both written.
        if self.peek().tok == Tok::LParen {
            self.next();
            let c = self.coord()?;
            self.expect(Tok::RParen, ")")?;
            Ok(Point(c))
        } else {
            Ok(Point(self.coord()?))
        }
    }

    fn geometry(&mut self) -> Result<Geometry<f64>, FilterError> {
        let at = self.at();
        let start = self.i;
        let name = match self.next().tok {
            Tok::Ident(n, false) => n.to_ascii_uppercase(),
            _ => {
                self.i = start;
                return Err(self.expected("a geometry"));
            }
        };
        let g = match name.as_str() {
            "POINT" => {
                self.expect(Tok::LParen, "(")?;
                let c = self.coord()?;
                self.expect(Tok::RParen, ") closing POINT")?;
                Geometry::Point(Point(c))
            }
            "LINESTRING" => {
                let cs = self.coords()?;
                if cs.len() < 2 {
                    return Err(FilterError::Syntax {
                        at,
                        found: "a LINESTRING of one position".into(),
                        expected: "at least 2 positions".into(),
                    });
                }
                Geometry::LineString(LineString::new(cs))
            }
            "POLYGON" => Geometry::Polygon(self.polygon()?),
            "MULTIPOINT" => Geometry::MultiPoint(MultiPoint(self.list(|p| p.point_item())?)),
            "MULTILINESTRING" => Geometry::MultiLineString(MultiLineString(
                self.list(|p| p.coords().map(LineString::new))?,
            )),
            "MULTIPOLYGON" => Geometry::MultiPolygon(MultiPolygon(self.list(|p| p.polygon())?)),
            "BBOX" => {
                self.expect(Tok::LParen, "(")?;
                let mut n = vec![self.num()?];
                while self.peek().tok == Tok::Comma {
                    self.next();
                    n.push(self.num()?);
                }
                self.expect(Tok::RParen, ") closing BBOX")?;
                let b = match n.len() {
                    4 => [n[0], n[1], n[2], n[3]],
                    6 => [n[0], n[1], n[3], n[4]],
                    k => {
                        return Err(FilterError::Syntax {
                            at,
                            found: format!("BBOX with {k} numbers"),
                            expected: "BBOX(minx, miny, maxx, maxy) (or 6 numbers with heights)"
                                .into(),
                        })
                    }
                };
                bbox_geom(b, &at)?
            }
            "ENVELOPE" => {
                // The WKT/CQL1 form: ENVELOPE(minx, maxx, maxy, miny).
                self.expect(Tok::LParen, "(")?;
                let mut n = vec![self.num()?];
                for _ in 0..3 {
                    self.expect(Tok::Comma, ", (ENVELOPE takes minx, maxx, maxy, miny)")?;
                    n.push(self.num()?);
                }
                self.expect(Tok::RParen, ") closing ENVELOPE")?;
                bbox_geom([n[0], n[3], n[1], n[2]], &at)?
            }
            _ => return Err(self.expected("a geometry")),
        };
        Ok(g)
    }
}

/// A box as a rectangle polygon; a box whose minx > maxx crosses the antimeridian and becomes
/// two rectangles.
pub(crate) fn bbox_geom(b: [f64; 4], at: &str) -> Result<Geometry<f64>, FilterError> {
    if b[1] > b[3] || b.iter().any(|v| !v.is_finite()) {
        return Err(FilterError::Syntax {
            at: at.into(),
            found: format!("a box with miny {} > maxy {}", b[1], b[3]),
            expected: "minx, miny, maxx, maxy with miny ≤ maxy".into(),
        });
    }
    if b[0] > b[2] {
        return Ok(Geometry::MultiPolygon(MultiPolygon(vec![
            Rect::new((b[0], b[1]), (180.0, b[3])).to_polygon(),
            Rect::new((-180.0, b[1]), (b[2], b[3])).to_polygon(),
        ])));
    }
    Ok(Geometry::Polygon(
        Rect::new((b[0], b[1]), (b[2], b[3])).to_polygon(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn precedence_and_keywords() {
        let a = parse("a = 1 OR b = 2 AND NOT c = 3").unwrap();
        match a {
            Ast::Or(v) => {
                assert_eq!(v.len(), 2);
                assert!(
                    matches!(&v[1], Ast::And(w) if w.len() == 2 && matches!(w[1], Ast::Not(_)))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("x is not null").unwrap(),
            Ast::IsNull(_, true)
        ));
        assert!(matches!(
            parse("\"depth_rank\" NOT BETWEEN 2 AND 4").unwrap(),
            Ast::Between(_, _, _, true)
        ));
        assert!(matches!(parse("TRUE").unwrap(), Ast::Bool(true)));
        assert!(matches!(
            parse("name IN ('a','b''c')").unwrap(),
            Ast::In(_, ref l, false) if l.len() == 2
        ));
    }

    #[test]
    fn strings_escape_quotes() {
        match parse(r"n = 'it''s' OR n = 'it\'s'").unwrap() {
            Ast::Or(v) => {
                for p in v {
                    match p {
                        Ast::Cmp(_, _, b) => {
                            assert!(matches!(b.atom, Atom::Str(ref s) if s == "it's"))
                        }
                        other => panic!("{other:?}"),
                    }
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn geometries() {
        for g in [
            "POINT(133.9 34.6)",
            "LINESTRING(1 2, 3 4)",
            "POLYGON((0 0, 1 0, 1 1, 0 0))",
            "MULTIPOINT((1 2), (3 4))",
            "MULTIPOINT(1 2, 3 4)",
            "MULTILINESTRING((1 2, 3 4),(5 6, 7 8))",
            "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))",
            "BBOX(1, 2, 3, 4)",
            "ENVELOPE(1, 3, 4, 2)",
        ] {
            let a = parse(&format!("S_INTERSECTS(geometry, {g})")).unwrap();
            assert!(matches!(a, Ast::Intersects(_, _)), "{g}");
        }
        // ENVELOPE is minx, maxx, maxy, miny.
        match parse("S_INTERSECTS(geometry, ENVELOPE(1, 3, 4, 2))").unwrap() {
            Ast::Intersects(_, b) => match b.atom {
                Atom::Geom(Geometry::Polygon(p)) => {
                    let r = geo::BoundingRect::bounding_rect(&p).unwrap();
                    assert_eq!(
                        (r.min().x, r.min().y, r.max().x, r.max().y),
                        (1.0, 2.0, 3.0, 4.0)
                    );
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = err("depth_rank >= 4 AN x = 1");
        assert!(
            e.contains("character 17") && e.contains("AN") && e.contains("AND, OR"),
            "{e}"
        );
        let e = err("name = 'abc");
        assert!(e.contains("character 8") && e.contains("closing '"), "{e}");
        let e = err("(a = 1");
        assert!(e.contains("closing parenthesis"), "{e}");
        let e = err("S_WITHIN(geometry, POINT(1 2))");
        assert!(e.contains("S_WITHIN") && e.contains("not supported"), "{e}");
        let e = err("ACCENTI(name) = 'a'");
        assert!(e.contains("ACCENTI"), "{e}");
        let e = err("S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 0)))");
        assert!(e.contains("closed ring"), "{e}");
        let e = err("a = NULL");
        assert!(e.contains("IS NULL"), "{e}");
        let e = err("a");
        assert!(
            e.contains("the end of the filter") && e.contains("comparison"),
            "{e}"
        );
        let e = err("a ! 3");
        assert!(e.contains("character 3"), "{e}");
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}a = 1{}", "(".repeat(500), ")".repeat(500));
        assert!(matches!(parse(&deep), Err(FilterError::TooComplex(_))));
        let nots = format!("{}a = 1", "NOT ".repeat(500));
        assert!(matches!(parse(&nots), Err(FilterError::TooComplex(_))));
    }
}
