//! Sign-in: the login form, its refusals, logout and the console style sheet.

use super::*;

#[derive(serde::Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin") && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/admin".into(),
    }
}

/// True when the request reached the server's proxy over https (`X-Forwarded-Proto` or
/// `Forwarded: proto=https`). Believed from anyone: it can only add `Secure` to a cookie, and a
/// client that lies about it only keeps its own browser from sending the cookie back over http.
pub(super) fn arrived_over_https(headers: &HeaderMap) -> bool {
    let xfp = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let fwd = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| {
            v.split(';')
                .filter_map(|kv| kv.trim().split_once('='))
                .any(|(k, p)| {
                    k.eq_ignore_ascii_case("proto")
                        && p.trim_matches('"').eq_ignore_ascii_case("https")
                })
        });
    xfp || fwd
}

/// A console cookie: `HttpOnly`, `SameSite=Strict`, and `Secure` when the public base URL is
/// https or the request came over https. Over plain http (a loopback or office-LAN console
/// without TLS) it cannot be `Secure`, or the browser would never send it back.
pub(super) fn cookie_header(
    st: &AppState,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
) -> String {
    let mut c = cookie::Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(st.admin.config.secure_cookies || arrived_over_https(headers));
    if let Some(a) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(
            i64::try_from(a).unwrap_or(i64::MAX),
        ));
    }
    c.build().to_string()
}

pub(super) fn login_form(
    st: &AppState,
    headers: &HeaderMap,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = cookie(headers, LOGIN_COOKIE)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| crate::admin::random_hex(32));
    let mut r = html(status, pages::login(error, &token, next));
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        st,
        headers,
        LOGIN_COOKIE,
        &token,
        "/admin/login",
        None,
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The sign-in form again, refused with `e` (its status from the one mapping, and
/// `Retry-After` where waiting helps).
pub(super) fn login_refused(
    st: &AppState,
    headers: &HeaderMap,
    next: &str,
    e: AdminError,
) -> Response {
    let retry = e.retry_after();
    let msg = e.to_string();
    let mut r = login_form(st, headers, next, Some(&msg), ApiError::from(e).status());
    if let Some(secs) = retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// The client address of a request: the socket peer, or what a trusted proxy forwarded
/// (`serve --trusted-proxy`).
pub(super) struct ClientIp(IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<AppState>,
    ) -> Result<ClientIp, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let xff = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientIp(accounts::client_addr(
            peer,
            xff,
            &st.admin.config.trusted_proxies,
        )))
    }
}

pub(super) async fn login_page(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_form(
        &st,
        &headers,
        &safe_next(q.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

pub(super) async fn login_submit(
    State(st): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return PageErr(AdminError::BadInput("bad form".into())).into_response();
    };
    let field = |k: &str| f.get(k).map_or("", String::as_str).to_string();
    let next = safe_next(Some(&field("next")));
    let csrf_ok = cookie(&headers, LOGIN_COOKIE).is_some_and(|c| ct_eq(&c, &field("csrf")));
    if !csrf_ok {
        return PageErr(csrf_error()).into_response();
    }
    // Cheapest refusals first; none of them writes to disk (see `admin::audit`).
    if let Err(secs) = st.admin.login_gate.admit(ip) {
        return login_refused(&st, &headers, &next, AdminError::TooManyAttempts(secs));
    }
    let user: String = field("user").chars().take(64).collect();
    let password = field("password");
    let account = match st.admin.accounts.user(&user) {
        Some(u) => u.name,
        None => audit::UNKNOWN_ACCOUNT.to_string(),
    };
    let note = |what: audit::Refusal| {
        if let Some(detail) = st.admin.failed_logins.note(&account, &user, ip, what) {
            st.admin
                .audit
                .log(&account, "console", "login_failed", &account, &detail);
        }
    };
    // The attempt is counted before its password is checked, so parallel guesses cannot
    // outrun the lock.
    if let Err(secs) = st.admin.sessions.reserve(&user, ip) {
        note(audit::Refusal::Locked);
        return login_refused(&st, &headers, &next, AdminError::LockedOut(secs));
    }
    let Some(permit) = st.admin.login_gate.try_check() else {
        st.admin.sessions.unreserve(&user, ip);
        return login_refused(&st, &headers, &next, AdminError::Busy(1));
    };
    let st2 = st.clone();
    let u2 = user.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        st2.admin.accounts.verify_password(&u2, &password)
    })
    .await
    .ok()
    .flatten();
    let Some(u) = verified else {
        let locked = st.admin.sessions.fail(&user, ip);
        note(audit::Refusal::Failed { locked });
        return login_form(
            &st,
            &headers,
            &next,
            Some("ユーザー名またはパスワードが違います / wrong user name or password"),
            StatusCode::UNAUTHORIZED,
        );
    };
    st.admin.sessions.succeed(&user, ip);
    let c = st.admin.sessions.create(&u.name, u.generation);
    let detail = st
        .admin
        .failed_logins
        .take(&u.name)
        .map(|d| format!("from {ip}; not yet logged failures: {d}"))
        .unwrap_or_else(|| format!("from {ip}"));
    st.admin
        .audit
        .log(&u.name, "console", "login", &u.name, &detail);
    let mut r = see_other(&next);
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        &st,
        &headers,
        SESSION_COOKIE,
        &c,
        "/admin",
        None,
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        &st,
        &headers,
        LOGIN_COOKIE,
        "",
        "/admin/login",
        Some(0),
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub(super) async fn logout(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    f: StaffForm,
) -> Response {
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        st.admin.sessions.remove(&c);
    }
    f.staff.log(&st, "logout", &f.staff.user, "");
    let mut r = see_other("/admin/login");
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        &st,
        &headers,
        SESSION_COOKIE,
        "",
        "/admin",
        Some(0),
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

pub(super) async fn console_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::CSS,
    )
        .into_response()
}
