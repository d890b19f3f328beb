//! The filter as parsed, before it meets a collection: names are still names and literals are
//! still untyped. Both encodings (text and JSON) parse to this tree, so binding, type checks and
//! evaluation exist once.

use geo::Geometry;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator from its CQL2 spelling (the same in both encodings).
    pub fn from_symbol(s: &str) -> Option<CmpOp> {
        Some(match s {
            "=" => CmpOp::Eq,
            "<>" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }
}

/// A boolean expression.
#[derive(Debug, Clone)]
pub enum Ast {
    /// All of them.
    And(Vec<Ast>),
    /// Any of them.
    Or(Vec<Ast>),
    /// Not.
    Not(Box<Ast>),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// `a op b`.
    Cmp(CmpOp, Operand, Operand),
    /// `a [NOT] LIKE pattern`.
    Like(Operand, Operand, bool),
    /// `a [NOT] BETWEEN lo AND hi`.
    Between(Operand, Operand, Operand, bool),
    /// `a [NOT] IN (list)`.
    In(Operand, Vec<Operand>, bool),
    /// `a IS [NOT] NULL`.
    IsNull(Operand, bool),
    /// `S_INTERSECTS(a, b)`.
    Intersects(Operand, Operand),
}

/// An operand with where it was written (for errors).
#[derive(Debug, Clone)]
pub struct Operand {
    /// What it is.
    pub atom: Atom,
    /// Where: `character 12` or `JSON /args/0`.
    pub at: String,
}

/// A scalar or spatial operand.
#[derive(Debug, Clone)]
pub enum Atom {
    /// A property by name.
    Prop(String),
    /// A character string.
    Str(String),
    /// A number.
    Num(f64),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// `DATE('YYYY-MM-DD')`.
    Date(String),
    /// `TIMESTAMP('…')`.
    Timestamp(String),
    /// `CASEI(x)`.
    Casei(Box<Operand>),
    /// A geometry literal (in the filter CRS until bound).
    Geom(Geometry<f64>),
}

impl Ast {
    /// Number of nodes (predicates and connectives), for the size limit.
    pub fn size(&self) -> usize {
        match self {
            Ast::And(v) | Ast::Or(v) => 1 + v.iter().map(Ast::size).sum::<usize>(),
            Ast::Not(a) => 1 + a.size(),
            Ast::In(_, l, _) => 1 + l.len(),
            _ => 1,
        }
    }
}
