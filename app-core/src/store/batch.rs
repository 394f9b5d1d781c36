//! [`UserBatch`]: the users of one write request.

use crate::domain::User;

/// Users written in one request: at most [`UserBatch::CAPACITY`], with distinct ids.
///
/// Pushing a user whose id is already in the batch replaces the earlier one in place, so the batch
/// holds what a sequence of single puts would have left behind (the later row wins) and never sends
/// the same key twice in one request (which DynamoDB refuses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserBatch {
    users: Vec<User>,
}

impl UserBatch {
    /// The most users one batch holds: DynamoDB's `BatchWriteItem` limit.
    pub const CAPACITY: usize = 25;

    /// An empty batch.
    pub fn new() -> Self {
        Self {
            users: Vec::with_capacity(Self::CAPACITY),
        }
    }

    /// Adds `user`, replacing a user with the same id. Returns the user back if the batch is full and
    /// holds no user with this id.
    pub fn push(&mut self, user: User) -> Result<(), User> {
        if let Some(slot) = self.users.iter_mut().find(|held| held.id == user.id) {
            *slot = user;
        } else if self.is_full() {
            return Err(user);
        } else {
            self.users.push(user);
        }
        Ok(())
    }

    /// True when no user with a new id fits.
    pub fn is_full(&self) -> bool {
        self.users.len() >= Self::CAPACITY
    }

    /// True when the batch holds no user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// How many users (distinct ids) the batch holds.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// The users, in the order their ids first appeared.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Empties the batch, keeping its allocation.
    pub fn clear(&mut self) {
        self.users.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn user(id: &str, name: &str) -> User {
        User {
            id: UserId::parse(id).unwrap(),
            name: name.into(),
            email: "e@example.com".into(),
            created_at: "2024-01-15T09:30:00Z".into(),
        }
    }

    #[test]
    fn holds_twenty_five_distinct_ids_and_refuses_a_twenty_sixth() {
        let mut batch = UserBatch::new();
        for i in 0..25 {
            batch.push(user(&format!("u-{i}"), "n")).unwrap();
        }

        assert!(batch.is_full());
        assert_eq!(batch.push(user("u-25", "n")), Err(user("u-25", "n")));
        assert_eq!(batch.len(), 25);
    }

    #[test]
    fn a_later_row_with_the_same_id_replaces_the_earlier_in_place() {
        let mut batch = UserBatch::new();
        batch.push(user("a", "first")).unwrap();
        batch.push(user("b", "only")).unwrap();
        batch.push(user("a", "second")).unwrap();

        assert_eq!(batch.users(), &[user("a", "second"), user("b", "only")]);
    }

    #[test]
    fn a_full_batch_still_takes_a_row_whose_id_it_holds() {
        let mut batch = UserBatch::new();
        for i in 0..25 {
            batch.push(user(&format!("u-{i}"), "old")).unwrap();
        }

        batch.push(user("u-3", "new")).unwrap();

        assert_eq!(batch.users()[3], user("u-3", "new"));
        assert_eq!(batch.len(), 25);
    }
}
