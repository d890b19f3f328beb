//! Users, API tokens and the audit log (admins).

use super::*;

pub(super) async fn users_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    html(
        StatusCode::OK,
        pages::users(&staff.viewer(), &st.admin.accounts.users(), None),
    )
}

pub(super) async fn user_add(State(st): State<Arc<AppState>>, f: StaffForm) -> Response {
    let name = f.get("name").trim().to_string();
    let role: Result<Role, _> = f.get("role").parse();
    let password = f.get("password").to_string();
    let st2 = st.clone();
    let by = f.staff.actor();
    let n2 = name.clone();
    let res = match role {
        Ok(role) => blocking(move || st2.admin.add_user(&by, &n2, role, &password)).await,
        Err(e) => Err(AdminError::BadInput(e)),
    };
    let (status, notice, bad) = match res {
        Ok(()) => (
            StatusCode::OK,
            format!("ユーザー「{name}」を追加しました / added user “{name}”"),
            false,
        ),
        Err(e) => {
            let msg = format!("ユーザー「{name}」を追加できません / cannot add user “{name}”: {e}");
            (ApiError::from(e).status(), msg, true)
        }
    };
    html(
        status,
        pages::users(
            &f.staff.viewer(),
            &st.admin.accounts.users(),
            Some((&notice, bad)),
        ),
    )
}

pub(super) async fn user_disable(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    f: StaffForm,
) -> PageResult {
    st.admin.disable_user(&f.staff.actor(), &name)?;
    Ok(see_other("/admin/users"))
}

pub(super) async fn tokens_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    html(
        StatusCode::OK,
        pages::tokens(
            &staff.viewer(),
            &st.admin.accounts.tokens(),
            &st.admin.accounts.users(),
            None,
        ),
    )
}

pub(super) async fn token_create(State(st): State<Arc<AppState>>, f: StaffForm) -> PageResult {
    let user = f.get("user").to_string();
    let (t, secret) = st
        .admin
        .create_token(&f.staff.actor(), &user, f.get("label"))?;
    Ok(html(
        StatusCode::OK,
        pages::tokens(
            &f.staff.viewer(),
            &st.admin.accounts.tokens(),
            &st.admin.accounts.users(),
            Some((&t, &secret)),
        ),
    ))
}

pub(super) async fn token_revoke(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    f: StaffForm,
) -> PageResult {
    st.admin.revoke_token(&f.staff.actor(), &id)?;
    Ok(see_other("/admin/tokens"))
}

pub(super) async fn audit_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    html(
        StatusCode::OK,
        pages::audit(&staff.viewer(), &st.admin.audit.recent(1000)),
    )
}
