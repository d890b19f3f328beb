//! CQL2 JSON (`filter-lang=cql2-json`): `{"op": …, "args": […]}` objects, `{"property": …}`,
//! `{"date": …}`, `{"timestamp": …}`, GeoJSON geometries and `{"bbox": […]}`, read into the
//! same tree as the text encoding. Errors name the JSON pointer where they failed.

use super::ast::{Ast, Atom, CmpOp, Operand};
use super::text::bbox_geom;
use super::{FilterError, MAX_DEPTH};
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde_json::Value;

/// Parse CQL2 JSON text.
pub fn parse(s: &str) -> Result<Ast, FilterError> {
    let v: Value = serde_json::from_str(s).map_err(|e| FilterError::Syntax {
        at: format!("line {} column {}", e.line(), e.column()),
        found: "text that is not JSON".into(),
        expected: format!("a CQL2 JSON object ({e})"),
    })?;
    boolean(&v, "", 0)
}

fn syntax(at: &str, found: String, expected: &str) -> FilterError {
    FilterError::Syntax {
        at: format!("JSON {}", if at.is_empty() { "/" } else { at }),
        found,
        expected: expected.into(),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn args<'a>(v: &'a Value, at: &str, n: Option<usize>) -> Result<&'a [Value], FilterError> {
    let a = v
        .get("args")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax(at, short(v), "an \"args\" array"))?;
    if let Some(n) = n {
        if a.len() != n {
            return Err(syntax(
                &format!("{at}/args"),
                format!("{} arguments", a.len()),
                &format!("{n} arguments"),
            ));
        }
    }
    Ok(a)
}

fn boolean(v: &Value, at: &str, depth: usize) -> Result<Ast, FilterError> {
    if depth > MAX_DEPTH {
        return Err(FilterError::TooComplex(format!(
            "nested deeper than {MAX_DEPTH} levels at JSON {at}"
        )));
    }
    if let Value::Bool(b) = v {
        return Ok(Ast::Bool(*b));
    }
    let op = v.get("op").and_then(Value::as_str).ok_or_else(|| {
        syntax(
            at,
            short(v),
            "an object with \"op\" and \"args\", or true/false",
        )
    })?;
    let lower = op.to_ascii_lowercase();
    let sub = |i: usize| format!("{at}/args/{i}");
    Ok(match lower.as_str() {
        "and" | "or" => {
            let a = args(v, at, None)?;
            if a.len() < 2 {
                return Err(syntax(
                    &format!("{at}/args"),
                    format!("{} arguments", a.len()),
                    "at least 2 arguments",
                ));
            }
            let v = a
                .iter()
                .enumerate()
                .map(|(i, x)| boolean(x, &sub(i), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if lower == "and" {
                Ast::And(v)
            } else {
                Ast::Or(v)
            }
        }
        "not" => {
            let a = args(v, at, Some(1))?;
            Ast::Not(Box::new(boolean(&a[0], &sub(0), depth + 1)?))
        }
        "=" | "<>" | "<" | "<=" | ">" | ">=" => {
            let a = args(v, at, Some(2))?;
            let cmp = CmpOp::from_symbol(&lower).ok_or_else(|| syntax(at, op.into(), "="))?;
            Ast::Cmp(
                cmp,
                scalar(&a[0], &sub(0), depth)?,
                scalar(&a[1], &sub(1), depth)?,
            )
        }
        "like" => {
            let a = args(v, at, Some(2))?;
            Ast::Like(
                scalar(&a[0], &sub(0), depth)?,
                scalar(&a[1], &sub(1), depth)?,
                false,
            )
        }
        "between" => {
            let a = args(v, at, Some(3))?;
            Ast::Between(
                scalar(&a[0], &sub(0), depth)?,
                scalar(&a[1], &sub(1), depth)?,
                scalar(&a[2], &sub(2), depth)?,
                false,
            )
        }
        "in" => {
            let a = args(v, at, Some(2))?;
            let list = a[1]
                .as_array()
                .ok_or_else(|| syntax(&sub(1), short(&a[1]), "an array of values"))?;
            Ast::In(
                scalar(&a[0], &sub(0), depth)?,
                list.iter()
                    .enumerate()
                    .map(|(i, x)| scalar(x, &format!("{at}/args/1/{i}"), depth))
                    .collect::<Result<_, _>>()?,
                false,
            )
        }
        "isnull" => {
            let a = args(v, at, Some(1))?;
            Ast::IsNull(scalar(&a[0], &sub(0), depth)?, false)
        }
        "s_intersects" => {
            let a = args(v, at, Some(2))?;
            Ast::Intersects(
                scalar(&a[0], &sub(0), depth)?,
                scalar(&a[1], &sub(1), depth)?,
            )
        }
        _ => {
            return Err(FilterError::Unsupported {
                at: format!("JSON {at}/op"),
                what: format!("operator {op:?}"),
            })
        }
    })
}

fn scalar(v: &Value, at: &str, depth: usize) -> Result<Operand, FilterError> {
    let atom = match v {
        Value::String(s) => Atom::Str(s.clone()),
        Value::Number(n) => Atom::Num(
            n.as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| syntax(at, n.to_string(), "a finite number"))?,
        ),
        Value::Bool(b) => Atom::Bool(*b),
        Value::Object(o) => {
            if let Some(p) = o.get("property") {
                Atom::Prop(
                    p.as_str()
                        .ok_or_else(|| syntax(at, short(v), "{\"property\": \"name\"}"))?
                        .to_string(),
                )
            } else if let Some(d) = o.get("date") {
                Atom::Date(
                    d.as_str()
                        .ok_or_else(|| syntax(at, short(v), "{\"date\": \"YYYY-MM-DD\"}"))?
                        .to_string(),
                )
            } else if let Some(d) = o.get("timestamp") {
                Atom::Timestamp(
                    d.as_str()
                        .ok_or_else(|| syntax(at, short(v), "{\"timestamp\": \"…Z\"}"))?
                        .to_string(),
                )
            } else if let Some(b) = o.get("bbox") {
                let n: Vec<f64> = b
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default();
                let bb = match n.len() {
                    4 => [n[0], n[1], n[2], n[3]],
                    6 => [n[0], n[1], n[3], n[4]],
                    _ => return Err(syntax(at, short(v), "{\"bbox\": [minx, miny, maxx, maxy]}")),
                };
                Atom::Geom(bbox_geom(bb, &format!("JSON {at}"))?)
            } else if o.contains_key("type") && o.contains_key("coordinates") {
                Atom::Geom(geojson_geometry(v, at)?)
            } else if let Some(op) = o.get("op").and_then(Value::as_str) {
                if op.eq_ignore_ascii_case("casei") {
                    if depth > MAX_DEPTH {
                        return Err(FilterError::TooComplex(format!(
                            "nested deeper than {MAX_DEPTH} levels at JSON {at}"
                        )));
                    }
                    let a = args(v, at, Some(1))?;
                    Atom::Casei(Box::new(scalar(&a[0], &format!("{at}/args/0"), depth + 1)?))
                } else {
                    return Err(FilterError::Unsupported {
                        at: format!("JSON {at}/op"),
                        what: format!("function or operator {op:?} as an operand"),
                    });
                }
            } else {
                return Err(syntax(
                    at,
                    short(v),
                    "an operand: {\"property\": …}, a string, a number, a boolean, {\"date\": …}, \
                     a GeoJSON geometry, {\"bbox\": […]} or {\"op\": \"casei\", …}",
                ));
            }
        }
        Value::Null | Value::Array(_) => {
            return Err(syntax(
                at,
                short(v),
                "an operand (use isNull to test for null)",
            ))
        }
    };
    Ok(Operand {
        atom,
        at: format!("JSON {at}"),
    })
}

fn coord(v: &Value, at: &str) -> Result<Coord<f64>, FilterError> {
    match v
        .as_array()
        .map(|a| a.iter().map(Value::as_f64).collect::<Vec<_>>())
    {
        Some(n)
            if (2..=3).contains(&n.len()) && n.iter().all(|x| x.is_some_and(f64::is_finite)) =>
        {
            Ok(Coord {
                x: n[0].unwrap_or(0.0),
                y: n[1].unwrap_or(0.0),
            })
        }
        _ => Err(syntax(at, short(v), "a position [x, y]")),
    }
}

fn arr<'a>(v: &'a Value, at: &str, what: &str) -> Result<&'a Vec<Value>, FilterError> {
    v.as_array().ok_or_else(|| syntax(at, short(v), what))
}

fn line(v: &Value, at: &str) -> Result<LineString<f64>, FilterError> {
    let cs = arr(v, at, "an array of positions")?
        .iter()
        .enumerate()
        .map(|(i, c)| coord(c, &format!("{at}/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    if cs.len() < 2 {
        return Err(syntax(
            at,
            format!("{} positions", cs.len()),
            "at least 2 positions",
        ));
    }
    Ok(LineString::new(cs))
}

fn polygon(v: &Value, at: &str) -> Result<Polygon<f64>, FilterError> {
    let mut rings = arr(v, at, "an array of rings")?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let l = line(r, &format!("{at}/{i}"))?;
            if l.0.len() < 4 || l.0.first() != l.0.last() {
                return Err(syntax(
                    &format!("{at}/{i}"),
                    format!("a ring of {} positions", l.0.len()),
                    "a closed ring of at least 4 positions (first = last)",
                ));
            }
            Ok(l)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if rings.is_empty() {
        return Err(syntax(at, "no rings".into(), "at least one ring"));
    }
    let ext = rings.remove(0);
    Ok(Polygon::new(ext, rings))
}

fn geojson_geometry(v: &Value, at: &str) -> Result<Geometry<f64>, FilterError> {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
    let c = &v["coordinates"];
    let at_c = format!("{at}/coordinates");
    Ok(match ty {
        "Point" => Geometry::Point(Point(coord(c, &at_c)?)),
        "LineString" => Geometry::LineString(line(c, &at_c)?),
        "Polygon" => Geometry::Polygon(polygon(c, &at_c)?),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            arr(c, &at_c, "an array of positions")?
                .iter()
                .enumerate()
                .map(|(i, p)| coord(p, &format!("{at_c}/{i}")).map(Point))
                .collect::<Result<_, _>>()?,
        )),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            arr(c, &at_c, "an array of lines")?
                .iter()
                .enumerate()
                .map(|(i, l)| line(l, &format!("{at_c}/{i}")))
                .collect::<Result<_, _>>()?,
        )),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            arr(c, &at_c, "an array of polygons")?
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, &format!("{at_c}/{i}")))
                .collect::<Result<_, _>>()?,
        )),
        other => {
            return Err(FilterError::Unsupported {
                at: format!("JSON {at}/type"),
                what: format!("geometry type {other:?}"),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_operators() {
        let a = parse(
            r#"{"op":"and","args":[
                {"op":">=","args":[{"property":"depth_rank"},4]},
                {"op":"s_intersects","args":[{"property":"geometry"},
                    {"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}]},
                {"op":"in","args":[{"property":"river_name"},["a","b"]]},
                {"op":"not","args":[{"op":"isNull","args":[{"property":"scenario"}]}]},
                {"op":"like","args":[{"op":"casei","args":[{"property":"name"}]},{"op":"casei","args":["%x%"]}]},
                {"op":"between","args":[{"property":"depth_rank"},1,3]},
                {"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[0,0,1,1]}]}
            ]}"#,
        )
        .unwrap();
        assert!(matches!(a, Ast::And(ref v) if v.len() == 7), "{a:?}");
    }

    #[test]
    fn errors_name_the_pointer() {
        let e = parse(r#"{"op":"and","args":[{"op":"=","args":[1]} ,true]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/args/0/args") && e.contains("2 arguments"),
            "{e}"
        );
        let e = parse(r#"{"op":"s_within","args":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("s_within") && e.contains("/op"), "{e}");
        let e = parse("{nope").unwrap_err().to_string();
        assert!(e.contains("line 1 column"), "{e}");
    }
}
