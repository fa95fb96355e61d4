//! `#[genrt::main]` and `#[genrt::test]`: an `async fn` whose body runs in
//! [`block_on`](https://docs.rs/genrt) of a genrt runtime built for it, as Tokio's
//! `#[tokio::main]` and `#[tokio::test]`. Use them through `genrt` (`genrt::main`,
//! `genrt::test`); the examples are there.
//!
//! Also one helper of `genrt::select!`, `select_clean_pattern!`: not public API (genrt
//! reaches it through its hidden `__private` module).
//!
//! Written without `syn`: the macros only need the function's signature up to its body, a
//! few `key = value` arguments and the binding keywords of a pattern, so they read the tokens
//! directly and depend on nothing.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a genrt runtime (by default a multi-thread one with a worker
/// per CPU): the body becomes the future of the runtime's `block_on`.
///
/// Arguments, as Tokio's: `flavor = "multi_thread"` (the default) or `"current_thread"`
/// (one worker), `worker_threads = N` (multi-thread only; not 0), `start_paused = true|false`,
/// `name = "runtime name"`
/// (`Builder::name`), `unhandled_panic = "ignore"|"shutdown_runtime"`
/// (`Builder::unhandled_panic`), and `crate = "path"` to name genrt under another path. The
/// examples are on `genrt::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Main)
}

/// Runs an `async fn` test on a genrt runtime of its own (by default a current-thread one,
/// as Tokio's `#[tokio::test]`), and marks it `#[test]`.
///
/// Arguments as for `genrt::main`. The examples are on `genrt::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Test)
}

/// Not public API: a helper of `genrt::select!`, which may change in any release.
///
/// A pattern with its binding keywords removed, so that it can be tried against a reference
/// to a branch's output without moving out of it: every `mut` and `ref` (`mut x`, `ref x`,
/// `ref mut x`, and the `mut` of `&mut` reference patterns, as Tokio's
/// `select_priv_clean_pattern`) at any depth, except inside a macro invocation (`m!(..)`),
/// which is left as written. Anything that is not a pattern goes through as it is, for the
/// compiler to reject where `select!` uses it.
#[doc(hidden)]
#[proc_macro]
pub fn select_clean_pattern(pattern: TokenStream) -> TokenStream {
    clean_pattern(pattern)
}

/// `select_clean_pattern` on one level of tokens, recursing into groups.
fn clean_pattern(tokens: TokenStream) -> TokenStream {
    let mut cleaned = Vec::new();
    // Whether the previous token was a `!`: the group after it is a macro's input.
    let mut after_bang = false;
    for tree in tokens {
        let bang = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '!');
        match tree {
            TokenTree::Ident(ident) if matches!(ident.to_string().as_str(), "mut" | "ref") => {}
            TokenTree::Group(group) if !after_bang => {
                let mut inner = Group::new(group.delimiter(), clean_pattern(group.stream()));
                inner.set_span(group.span());
                cleaned.push(TokenTree::Group(inner));
            }
            other => cleaned.push(other),
        }
        after_bang = bang;
    }
    cleaned.into_iter().collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

struct Options {
    current_thread: bool,
    /// The value of `worker_threads = ...`, and the span of its key for errors.
    worker_threads: Option<(TokenStream, Span)>,
    start_paused: Option<TokenStream>,
    /// The string literal of `name = "..."`.
    name: Option<TokenStream>,
    /// `Ignore` or `ShutdownRuntime`, from `unhandled_panic = "..."`.
    unhandled_panic: Option<&'static str>,
    krate: TokenStream,
}

fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let options = match parse_args(args, kind) {
        Ok(options) => options,
        Err((span, message)) => return compile_error(span, &message),
    };
    match rewrite(item, &options, kind) {
        Ok(tokens) => tokens,
        Err((span, message)) => compile_error(span, &message),
    }
}

/// `key = value, ...` into [`Options`].
fn parse_args(args: TokenStream, kind: Kind) -> Result<Options, (Span, String)> {
    let mut options = Options {
        current_thread: kind == Kind::Test,
        worker_threads: None,
        start_paused: None,
        name: None,
        unhandled_panic: None,
        krate: "::genrt".parse().expect("a path"),
    };
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    // Keys already given: a second one is an error, as in tokio-macros.
    let mut seen: Vec<String> = Vec::new();
    for pair in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair {
            [TokenTree::Ident(key), TokenTree::Punct(eq), value @ ..]
                if eq.as_char() == '=' && !value.is_empty() =>
            {
                (key, value)
            }
            _ => {
                return Err((
                    pair[0].span(),
                    "expected `key = value` (flavor, worker_threads, start_paused, name, \
                     unhandled_panic or crate)"
                        .to_string(),
                ))
            }
        };
        let value_tokens: TokenStream = value.iter().cloned().collect();
        let name = key.to_string();
        if seen.contains(&name) {
            return Err((key.span(), format!("`{name}` set multiple times")));
        }
        seen.push(name);
        match key.to_string().as_str() {
            "flavor" => {
                let text = string_literal(value)
                    .ok_or_else(|| (key.span(), "flavor must be a string literal".to_string()))?;
                options.current_thread = match text.as_str() {
                    "current_thread" => true,
                    "multi_thread" => false,
                    other => {
                        return Err((
                            value[0].span(),
                            format!(
                                "unknown flavor `{other}`: expected \"current_thread\" or \
                                 \"multi_thread\""
                            ),
                        ))
                    }
                };
            }
            "worker_threads" => {
                if is_zero_literal(value) {
                    return Err((value[0].span(), "`worker_threads` may not be 0".to_string()));
                }
                options.worker_threads = Some((value_tokens, key.span()));
            }
            "start_paused" => options.start_paused = Some(value_tokens),
            "name" => {
                let text = string_literal(value)
                    .ok_or_else(|| (key.span(), "name must be a string literal".to_string()))?;
                // The literal as written: its whitespace escapes count as whitespace, as
                // `Builder::name` (which refuses a blank name at run time) will see them.
                let blank = ["\\n", "\\r", "\\t"]
                    .iter()
                    .fold(text.clone(), |text, escape| text.replace(escape, " "));
                if blank.trim().is_empty() {
                    return Err((value[0].span(), "name must not be empty".to_string()));
                }
                options.name = Some(value_tokens);
            }
            "unhandled_panic" => {
                let text = string_literal(value).ok_or_else(|| {
                    (
                        key.span(),
                        "unhandled_panic must be a string literal".to_string(),
                    )
                })?;
                options.unhandled_panic = Some(match text.as_str() {
                    "ignore" => "Ignore",
                    "shutdown_runtime" => "ShutdownRuntime",
                    other => {
                        return Err((
                            value[0].span(),
                            format!(
                                "unknown unhandled_panic `{other}`: expected \"ignore\" or \
                                 \"shutdown_runtime\""
                            ),
                        ))
                    }
                });
            }
            "crate" => {
                let text = string_literal(value)
                    .ok_or_else(|| (key.span(), "crate must be a string literal".to_string()))?;
                options.krate = text
                    .parse()
                    .ok()
                    .filter(is_path)
                    .ok_or_else(|| (value[0].span(), format!("`{text}` is not a path")))?;
            }
            other => {
                return Err((
                    key.span(),
                    format!(
                        "unknown argument `{other}`: expected flavor, worker_threads, \
                         start_paused, name, unhandled_panic or crate"
                    ),
                ))
            }
        }
    }
    // The builder would ignore the count (a current-thread runtime has one worker), and a
    // test written for several workers would run on one, so it is refused, as in
    // tokio-macros.
    if let (true, Some((_, span))) = (options.current_thread, &options.worker_threads) {
        let attribute = match kind {
            Kind::Main => "genrt::main",
            Kind::Test => "genrt::test",
        };
        return Err((
            *span,
            format!(
                "the `worker_threads` option requires the `multi_thread` runtime flavor: use \
                 `#[{attribute}(flavor = \"multi_thread\", worker_threads = ..)]`"
            ),
        ));
    }
    Ok(options)
}

/// Whether `tokens` is an integer literal of value 0 (`0`, `0usize`, `0_0`, `0x0`).
fn is_zero_literal(tokens: &[TokenTree]) -> bool {
    const SUFFIXES: [&str; 12] = [
        "usize", "u128", "u64", "u32", "u16", "u8", "isize", "i128", "i64", "i32", "i16", "i8",
    ];
    let [TokenTree::Literal(literal)] = tokens else {
        return false;
    };
    let text = literal.to_string().replace('_', "");
    let text = SUFFIXES
        .iter()
        .find_map(|suffix| text.strip_suffix(suffix))
        .unwrap_or(&text);
    let (digits, radix) = match text.get(..2) {
        Some("0x") => (&text[2..], 16),
        Some("0o") => (&text[2..], 8),
        Some("0b") => (&text[2..], 2),
        _ => (text, 10),
    };
    u128::from_str_radix(digits, radix) == Ok(0)
}

/// Whether `path` is a path: `a::b`, `::a::b`, `crate::a` (identifiers between `::`).
fn is_path(path: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = path.clone().into_iter().collect();
    path_segments(&tokens).is_some()
}

/// The identifiers of `tokens` if they are a path (an optional leading `::`, then
/// identifiers between `::`).
fn path_segments(tokens: &[TokenTree]) -> Option<Vec<String>> {
    let is_colons = |tokens: &[TokenTree]| {
        matches!(tokens, [TokenTree::Punct(a), TokenTree::Punct(b), ..]
            if a.as_char() == ':' && b.as_char() == ':')
    };
    let mut rest = tokens;
    if is_colons(rest) {
        rest = &rest[2..];
    }
    let mut segments = Vec::new();
    loop {
        let [TokenTree::Ident(segment), tail @ ..] = rest else {
            return None;
        };
        segments.push(segment.to_string());
        if tail.is_empty() {
            return Some(segments);
        }
        if !is_colons(tail) {
            return None;
        }
        rest = &tail[2..];
    }
}

/// The text of a string literal token, if `tokens` is one.
fn string_literal(tokens: &[TokenTree]) -> Option<String> {
    match tokens {
        [TokenTree::Literal(literal)] => {
            let text = literal.to_string();
            let inner = text.strip_prefix('"')?.strip_suffix('"')?;
            Some(inner.to_string())
        }
        _ => None,
    }
}

/// `[attrs] [vis] async fn name() [-> T] { body }` into `[#[test]] [attrs] [vis] fn name()
/// [-> T] { runtime.block_on(async { body }) }`.
fn rewrite(
    item: TokenStream,
    options: &Options,
    kind: Kind,
) -> Result<TokenStream, (Span, String)> {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    // A body passed through a `macro_rules!` `$body:block` fragment arrives wrapped in an
    // invisible group.
    if let Some(TokenTree::Group(wrapper)) = tokens.last() {
        if wrapper.delimiter() == Delimiter::None {
            let inner: Vec<TokenTree> = wrapper.stream().into_iter().collect();
            if let [TokenTree::Group(body)] = &inner[..] {
                if body.delimiter() == Delimiter::Brace {
                    let body = body.clone();
                    tokens.pop();
                    tokens.push(TokenTree::Group(body));
                }
            }
        }
    }
    let Some(TokenTree::Group(body)) = tokens.pop() else {
        return Err((
            Span::call_site(),
            "expected a function with a body".to_string(),
        ));
    };
    if body.delimiter() != Delimiter::Brace {
        return Err((body.span(), "expected the function's body".to_string()));
    }
    let fn_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "fn"))
        .ok_or((Span::call_site(), "expected a function".to_string()))?;
    let async_at = tokens[..fn_at]
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "async"));
    let Some(async_at) = async_at else {
        return Err((
            tokens[fn_at].span(),
            "the `async` keyword is missing from the function declaration".to_string(),
        ));
    };
    tokens.remove(async_at);
    let fn_at = fn_at - 1;
    let signature = locate_signature(&tokens, fn_at)?;
    // A test, or a function named `main`, must take no arguments: nothing would provide
    // them. Any other function may (`self` too): its body captures them, as in Tokio.
    let is_main =
        matches!(tokens.get(fn_at + 1), Some(TokenTree::Ident(i)) if i.to_string() == "main");
    if let TokenTree::Group(params) = &tokens[signature.params] {
        if !params.stream().is_empty() && (kind == Kind::Test || is_main) {
            let what = if kind == Kind::Main {
                "the main function cannot accept arguments"
            } else {
                "a test function cannot accept arguments"
            };
            return Err((params.span(), what.to_string()));
        }
    }
    // The return type, if any: from after `->` to a `where` clause or the body.
    let output: TokenStream = match signature.output {
        Some(range) => tokens[range].iter().cloned().collect(),
        None => parse("()"),
    };
    // A return type that cannot be named in a `let` (`!`, unstable there; `impl Trait`) is
    // left to inference, as Tokio's `main` does.
    let nameable = !output.clone().into_iter().any(|t| match t {
        TokenTree::Punct(p) => p.as_char() == '!',
        TokenTree::Ident(i) => i.to_string() == "impl",
        _ => false,
    });
    // Inner attributes of the body (`#![allow(..)]`) are not allowed on the `async` block it
    // becomes: they go on the function, after its outer attributes, as tokio-macros does.
    let (inner_attributes, body) = split_inner_attributes(body);
    let outer_end = outer_attributes_end(&tokens);
    if kind == Kind::Test {
        // A `#[test]` of its own would register the function a second time (it would run
        // twice, with a warning only): refused, as in tokio-macros.
        let attributes = tokens[..outer_end].iter().chain(&inner_attributes);
        if let Some(span) = find_test_attribute(attributes) {
            return Err((
                span,
                "second test attribute is supplied: `#[genrt::test]` already marks the \
                 function `#[test]`; remove the other one"
                    .to_string(),
            ));
        }
    }
    tokens.splice(outer_end..outer_end, inner_attributes);

    let krate = &options.krate;
    let builder = if options.current_thread {
        "new_current_thread"
    } else {
        "new_multi_thread"
    };
    let mut runtime = format!("{krate}::runtime::Builder::{builder}()");
    if let Some((workers, _)) = &options.worker_threads {
        runtime.push_str(&format!(".worker_threads({workers})"));
    }
    if let Some(paused) = &options.start_paused {
        runtime.push_str(&format!(".start_paused({paused})"));
    }
    if let Some(name) = &options.name {
        runtime.push_str(&format!(".name({name})"));
    }
    if let Some(policy) = options.unhandled_panic {
        runtime.push_str(&format!(
            ".unhandled_panic({krate}::runtime::UnhandledPanic::{policy})"
        ));
    }
    runtime.push_str(".enable_all().build().expect(\"failed to build the genrt runtime\")");
    // Built around the original body and return type tokens, which keep their spans, so
    // errors inside the body point at the user's code.
    let mut new_body = TokenStream::new();
    new_body.extend(parse("let body = async"));
    new_body.extend([TokenTree::Group(body)]);
    if nameable {
        new_body.extend(parse(
            "; let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output =",
        ));
        new_body.extend(output);
        new_body.extend(parse(">> = ::core::pin::pin!(body)"));
    }
    new_body.extend(parse(&format!(
        "; #[allow(clippy::expect_used, clippy::diverging_sub_expression, \
         clippy::needless_return, unreachable_code)] \
         {{ return {runtime}.block_on(body); }}"
    )));
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        out.extend(attribute("::core::prelude::v1::test"));
    }
    out.extend(tokens);
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, new_body))]);
    Ok(out)
}

/// Where the parts of a function's signature are in its tokens (`async` removed).
struct Signature {
    /// The index of the parenthesized parameters.
    params: usize,
    /// The return type's tokens, after `->` and before a `where` clause, if there is one.
    output: Option<std::ops::Range<usize>>,
}

/// The parameters and the return type of the function whose `fn` is at `fn_at`: past its
/// name and its generics (`<...>`, in which a `->` is an arrow, not a closing bracket).
fn locate_signature(tokens: &[TokenTree], fn_at: usize) -> Result<Signature, (Span, String)> {
    let is_punct = |at: usize, c: char| is_punct(tokens.get(at), c);
    // `-` joint with the `>` after it.
    let is_arrow_head = |at: usize| {
        at > 0
            && matches!(&tokens[at - 1], TokenTree::Punct(p)
                if p.as_char() == '-' && p.spacing() == Spacing::Joint)
    };
    let mut at = fn_at + 2;
    if is_punct(at, '<') {
        let mut depth = 0usize;
        loop {
            match tokens.get(at) {
                Some(TokenTree::Punct(p)) if p.as_char() == '<' => depth += 1,
                Some(TokenTree::Punct(p)) if p.as_char() == '>' && !is_arrow_head(at) => {
                    depth -= 1;
                    if depth == 0 {
                        at += 1;
                        break;
                    }
                }
                Some(_) => {}
                None => break,
            }
            at += 1;
        }
    }
    match tokens.get(at) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {}
        _ => {
            return Err((
                tokens[fn_at].span(),
                "expected the function's parameters".to_string(),
            ))
        }
    }
    let params = at;
    let output = if is_punct(at + 1, '-') && is_punct(at + 2, '>') {
        let start = at + 3;
        let end = tokens[start..]
            .iter()
            .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "where"))
            .map_or(tokens.len(), |offset| start + offset);
        Some(start..end)
    } else {
        None
    };
    Ok(Signature { params, output })
}

/// The body's inner attributes (`#![..]`), made outer (`#[..]`), and the body without them.
fn split_inner_attributes(body: Group) -> (Vec<TokenTree>, Group) {
    let tokens: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut attributes = Vec::new();
    let mut at = 0;
    while let [TokenTree::Punct(hash), TokenTree::Punct(bang), TokenTree::Group(attribute), ..] =
        &tokens[at..]
    {
        if hash.as_char() != '#'
            || bang.as_char() != '!'
            || attribute.delimiter() != Delimiter::Bracket
        {
            break;
        }
        attributes.push(TokenTree::Punct(hash.clone()));
        attributes.push(TokenTree::Group(attribute.clone()));
        at += 3;
    }
    if at == 0 {
        return (attributes, body);
    }
    let mut rest = Group::new(Delimiter::Brace, tokens[at..].iter().cloned().collect());
    rest.set_span(body.span());
    (attributes, rest)
}

/// The index just past the outer attributes (`#[..]`) at the start of `tokens`.
fn outer_attributes_end(tokens: &[TokenTree]) -> usize {
    let mut at = 0;
    while let [TokenTree::Punct(hash), TokenTree::Group(attribute), ..] = &tokens[at..] {
        if hash.as_char() != '#' || attribute.delimiter() != Delimiter::Bracket {
            break;
        }
        at += 2;
    }
    at
}

/// The span of the first test attribute among `attributes` (`#` and `[..]` pairs):
/// `#[test]`, or the prelude's path to it (`#[::core::prelude::v1::test]`,
/// `#[std::prelude::rust_2021::test]`), as tokio-macros recognizes them.
fn find_test_attribute<'a>(attributes: impl Iterator<Item = &'a TokenTree>) -> Option<Span> {
    attributes.into_iter().find_map(|tree| {
        let TokenTree::Group(group) = tree else {
            return None;
        };
        let path: Vec<TokenTree> = group.stream().into_iter().collect();
        let segments = path_segments(&path)?;
        let is_test = match &segments[..] {
            [test] => test == "test" && path.len() == 1,
            [root, prelude, _, test] => {
                (root == "core" || root == "std") && prelude == "prelude" && test == "test"
            }
            _ => false,
        };
        is_test.then(|| group.span())
    })
}

/// Whether `tree` is the punctuation `c`.
fn is_punct(tree: Option<&TokenTree>, c: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// Tokens of generated code (always valid).
fn parse(code: &str) -> TokenStream {
    code.parse().expect("generated code parses")
}

/// `#[path]`.
fn attribute(path: &str) -> TokenStream {
    let path: TokenStream = path.parse().expect("a path");
    [
        TokenTree::Punct(Punct::new('#', Spacing::Alone)),
        TokenTree::Group(Group::new(Delimiter::Bracket, path)),
    ]
    .into_iter()
    .collect()
}

/// `compile_error!("message")` at `span`.
fn compile_error(span: Span, message: &str) -> TokenStream {
    let mut literal = Literal::string(message);
    literal.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut group = Group::new(
        Delimiter::Parenthesis,
        [TokenTree::Literal(literal)].into_iter().collect(),
    );
    group.set_span(span);
    [
        TokenTree::Ident(Ident::new("compile_error", span)),
        TokenTree::Punct(bang),
        TokenTree::Group(group),
        TokenTree::Punct(Punct::new(';', Spacing::Alone)),
    ]
    .into_iter()
    .collect()
}
