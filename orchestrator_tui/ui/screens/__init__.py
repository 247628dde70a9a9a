"""The app's screens, one per module, each with its .tcss next to it."""
