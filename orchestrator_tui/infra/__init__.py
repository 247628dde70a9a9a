"""Infrastructure: the event store, the lock and inbox, git worktrees, notifications."""
