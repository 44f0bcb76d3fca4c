//! SQL for the `groups` and `group_members` tables. Lists of ids are bound as one JSON array
//! and read with `json_each`, so every query stays a static string.

use sqlx::SqliteExecutor;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub source: String,
    pub creation_time: String,
}

/// One membership: a user in a group.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub group_id: String,
    pub user_id: String,
}

fn json_ids(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// Names are unique by this key, whatever their case.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub async fn insert(db: impl SqliteExecutor<'_>, group: &GroupRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO groups (id, name, name_key, source, creation_time) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&group.id)
    .bind(&group.name)
    .bind(name_key(&group.name))
    .bind(&group.source)
    .bind(&group.creation_time)
    .execute(db)
    .await
    .map(drop)
}

pub async fn find(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<Option<GroupRow>> {
    sqlx::query_as("SELECT id, name, source, creation_time FROM groups WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The group named `name`, whatever its case.
pub async fn find_by_name(
    db: impl SqliteExecutor<'_>,
    name: &str,
) -> sqlx::Result<Option<GroupRow>> {
    sqlx::query_as("SELECT id, name, source, creation_time FROM groups WHERE name_key = ?")
        .bind(name_key(name))
        .fetch_optional(db)
        .await
}

/// All groups, by name.
pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<GroupRow>> {
    sqlx::query_as("SELECT id, name, source, creation_time FROM groups ORDER BY name_key, id")
        .fetch_all(db)
        .await
}

/// The groups of `ids` that exist.
pub async fn find_many(db: impl SqliteExecutor<'_>, ids: &[String]) -> sqlx::Result<Vec<GroupRow>> {
    sqlx::query_as(
        "SELECT id, name, source, creation_time FROM groups \
         WHERE id IN (SELECT value FROM json_each(?)) ORDER BY name_key, id",
    )
    .bind(json_ids(ids))
    .fetch_all(db)
    .await
}

pub async fn rename(db: impl SqliteExecutor<'_>, id: &str, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE groups SET name = ?, name_key = ? WHERE id = ?")
        .bind(name)
        .bind(name_key(name))
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a group; its memberships go with it (foreign keys).
pub async fn delete(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM groups WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every membership, by group then user.
pub async fn memberships(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as("SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id")
        .fetch_all(db)
        .await
}

/// The user ids in a group.
pub async fn members(db: impl SqliteExecutor<'_>, group_id: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id")
        .bind(group_id)
        .fetch_all(db)
        .await
}

/// The memberships of the users `user_ids`.
pub async fn memberships_of_users(
    db: impl SqliteExecutor<'_>,
    user_ids: &[String],
) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as(
        "SELECT m.group_id, m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id \
         WHERE m.user_id IN (SELECT value FROM json_each(?)) ORDER BY g.name_key, g.id",
    )
    .bind(json_ids(user_ids))
    .fetch_all(db)
    .await
}

/// Makes `user_ids` (existing users) the members of a group.
pub async fn set_members(
    db: &mut sqlx::SqliteConnection,
    group_id: &str,
    user_ids: &[String],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM group_members WHERE group_id = ?")
        .bind(group_id)
        .execute(&mut *db)
        .await?;
    sqlx::query("INSERT INTO group_members (group_id, user_id) SELECT ?, value FROM json_each(?)")
        .bind(group_id)
        .bind(json_ids(user_ids))
        .execute(&mut *db)
        .await
        .map(drop)
}

/// Makes `group_ids` (existing groups) the groups of a user.
pub async fn set_groups_of_user(
    db: &mut sqlx::SqliteConnection,
    user_id: &str,
    group_ids: &[String],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM group_members WHERE user_id = ?")
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    sqlx::query("INSERT INTO group_members (group_id, user_id) SELECT value, ? FROM json_each(?)")
        .bind(user_id)
        .bind(json_ids(group_ids))
        .execute(&mut *db)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    fn group(id: &str, name: &str) -> GroupRow {
        GroupRow {
            id: id.into(),
            name: name.into(),
            source: String::new(),
            creation_time: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[tokio::test]
    async fn names_are_unique_whatever_their_case() {
        let (db, _dir) = test_pool().await;
        insert(&db, &group("gid-1", "Straße")).await.unwrap();
        let duplicate = insert(&db, &group("gid-2", "STRAßE")).await.unwrap_err();
        assert!(duplicate.as_database_error().unwrap().is_unique_violation());
        insert(&db, &group("gid-3", "Émile")).await.unwrap();
        let duplicate = rename(&db, "gid-3", "straße").await.unwrap_err();
        assert!(duplicate.as_database_error().unwrap().is_unique_violation());
        assert!(rename(&db, "gid-3", "ÉMILE").await.unwrap());
        assert_eq!(
            find_by_name(&db, "émile").await.unwrap().unwrap().id,
            "gid-3"
        );
        assert!(find_by_name(&db, "nobody").await.unwrap().is_none());
        assert!(!rename(&db, "gid-9", "x").await.unwrap());
        let names: Vec<String> = list(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(names, ["Straße", "ÉMILE"], "by lowercased name");
    }

    #[tokio::test]
    async fn memberships_are_replaced_and_follow_deletions() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        insert(&db, &group("gid-1", "devs")).await.unwrap();
        insert(&db, &group("gid-2", "ops")).await.unwrap();
        let mut conn = db.acquire().await.unwrap();

        set_members(&mut conn, "gid-1", &ids(&["uid-1", "uid-2"]))
            .await
            .unwrap();
        set_groups_of_user(&mut conn, "uid-1", &ids(&["gid-2"]))
            .await
            .unwrap();
        drop(conn);

        assert_eq!(members(&db, "gid-1").await.unwrap(), ids(&["uid-2"]));
        assert_eq!(members(&db, "gid-2").await.unwrap(), ids(&["uid-1"]));
        let of_bob = memberships_of_users(&db, &ids(&["uid-2"])).await.unwrap();
        assert_eq!(of_bob.len(), 1);
        assert_eq!(
            find_many(&db, &ids(&["gid-2", "gid-9"]))
                .await
                .unwrap()
                .len(),
            1
        );
        crate::store::users::delete(&db, "uid-1").await.unwrap();
        assert!(members(&db, "gid-2").await.unwrap().is_empty());
        assert!(delete(&db, "gid-1").await.unwrap());
        assert!(memberships(&db).await.unwrap().is_empty());
        assert!(find(&db, "gid-1").await.unwrap().is_none());
    }
}
